package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/gateway-dev/gateway/internal/peer"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// WebSocket close codes used by the server (RFC 6455 section 7.4.1).
const (
	closeNormal        = 1000
	closeGoingAway     = 1001
	closeProtocolError = 1002
	closeNoStatus      = 1005 // never sent: an empty close body
	closeInvalidData   = 1007
	closePolicy        = 1008
	closeTooBig        = 1009
)

// wsCloseCode maps a router close code to a WebSocket status code and reason text.
func wsCloseCode(code peer.CloseCode, reason string) (uint16, string) {
	switch code {
	case peer.CloseGoingAway:
		return closeGoingAway, reason
	case peer.CloseProtocolError:
		return closeProtocolError, reason
	case peer.ClosePolicy:
		return closePolicy, reason
	case peer.CloseTooBig:
		return closeTooBig, reason
	case peer.CloseSlowConsumer:
		if reason == "" {
			reason = "slow consumer"
		}
		return closePolicy, reason
	default:
		return closeNormal, reason
	}
}

// closeBody encodes a close frame body; the reason is cut at a rune boundary to fit the 125-byte
// control frame limit. closeNoStatus yields an empty body.
func closeBody(code uint16, reason string) []byte {
	if code == closeNoStatus {
		return nil
	}
	const maxReason = ws.MaxControlFramePayloadSize - 2
	if len(reason) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	b := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(b, code)
	copy(b[2:], reason)
	return b
}

// wsOpcode returns the opcode of an outbound item.
func wsOpcode(dataOp byte, k itemKind) byte {
	switch k {
	case itemPing:
		return opPing
	case itemPong:
		return opPong
	case itemClose:
		return opClose
	default:
		return dataOp
	}
}

// appendWSHeader appends an unmasked, final server frame header.
func appendWSHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return append(b, 126, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// wsHeader is a parsed client frame header.
type wsHeader struct {
	fin    bool
	rsv    byte
	op     byte
	masked bool
	mask   [4]byte
	length int64
}

var errBadLength = errors.New("64-bit payload length with the most significant bit set")

// readWSHeader reads one frame header into the connection's scratch buffer.
func (c *conn) readWSHeader() (h wsHeader, err error) {
	b := c.hdr[:2]
	c.atBoundary = true
	if _, err = io.ReadFull(c, b); err != nil {
		return h, err
	}
	h.fin = b[0]&0x80 != 0
	h.rsv = b[0] & 0x70
	h.op = b[0] & 0x0F
	h.masked = b[1]&0x80 != 0
	extra := 0
	switch l := b[1] & 0x7F; l {
	case 126:
		extra = 2
	case 127:
		extra = 8
	default:
		h.length = int64(l)
	}
	if h.masked {
		extra += 4
	}
	if extra == 0 {
		return h, nil
	}
	b = c.hdr[2 : 2+extra]
	if _, err = io.ReadFull(c, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, err
	}
	switch c.hdr[1] & 0x7F {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b))
		b = b[2:]
	case 127:
		if b[0]&0x80 != 0 {
			return h, errBadLength
		}
		h.length = int64(binary.BigEndian.Uint64(b))
		b = b[8:]
	}
	if h.masked {
		copy(h.mask[:], b)
	}
	return h, nil
}

// checkWSHeader applies the RFC 6455 rules for a client frame.
func checkWSHeader(h *wsHeader, fragmented bool) error {
	switch {
	case h.rsv != 0:
		return errors.New("reserved bits set without a negotiated extension")
	case h.op > opBinary && h.op < opClose || h.op > opPong:
		return fmt.Errorf("reserved opcode %#x", h.op)
	case !h.masked:
		return errors.New("unmasked client frame")
	case h.op >= opClose && !h.fin:
		return errors.New("fragmented control frame")
	case h.op >= opClose && h.length > ws.MaxControlFramePayloadSize:
		return errors.New("control frame payload over 125 bytes")
	case h.op == opContinuation && !fragmented:
		return errors.New("continuation frame without a message to continue")
	case (h.op == opText || h.op == opBinary) && fragmented:
		return errors.New("new data frame inside a fragmented message")
	}
	return nil
}

// readWebSocket reads frames until the connection ends and returns why it ended.
func (c *conn) readWebSocket() error {
	var (
		msg        []byte  // message being assembled
		pooled     *[]byte // pooled buffer msg started in, if any
		msgOp      byte
		fragmented bool
	)
	release := func() {
		if pooled != nil {
			*pooled = (*pooled)[:0]
			smallPool.Put(pooled)
			pooled = nil
		}
		msg = nil
	}
	defer release()
	for {
		h, err := c.readWSHeader()
		if err != nil {
			if errors.Is(err, errBadLength) {
				return c.protocolError(closeProtocolError, err)
			}
			return c.readErr(err)
		}
		if err := checkWSHeader(&h, fragmented); err != nil {
			return c.protocolError(closeProtocolError, err)
		}
		if h.op >= opClose {
			done, err := c.wsControl(&h)
			if done {
				return err
			}
			continue
		}
		if total := int64(len(msg)) + h.length; total > int64(c.maxRecv) {
			c.srv.stats.tooBig.Add(1)
			return c.fail(closeTooBig, "message too big",
				fmt.Errorf("%w: %d bytes or more, limit %d", ErrMessageTooBig, total, c.maxRecv))
		}
		if !fragmented {
			msgOp = h.op
			if h.length <= smallMessage {
				pooled = smallPool.Get().(*[]byte)
				msg = (*pooled)[:0]
			}
		}
		start := len(msg)
		if msg, err = c.readAppend(msg, int(h.length)); err != nil {
			return c.readErr(err)
		}
		ws.Cipher(msg[start:], h.mask, 0)
		if !h.fin {
			fragmented = true
			continue
		}
		fragmented = false
		if msgOp == opText && !utf8.Valid(msg) {
			return c.protocolError(closeInvalidData, errors.New("text message is not valid UTF-8"))
		}
		c.deliver(msg)
		release()
	}
}

// wsControl handles a control frame. done reports that the reader must stop, with err as the reason.
func (c *conn) wsControl(h *wsHeader) (done bool, err error) {
	var payload []byte
	if h.length > 0 {
		payload = make([]byte, h.length)
		if _, err := io.ReadFull(c, payload); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return true, c.readErr(err)
		}
		ws.Cipher(payload, h.mask, 0)
	}
	switch h.op {
	case opPing:
		c.enqueueControl(itemPong, payload)
	case opPong:
		// Its arrival already counted as activity.
	case opClose:
		code := uint16(closeNoStatus)
		if len(payload) == 1 {
			return true, c.protocolError(closeProtocolError, errors.New("close frame with a 1-byte body"))
		}
		if len(payload) >= 2 {
			sc, reason := ws.ParseCloseFrameDataUnsafe(payload)
			if err := ws.CheckCloseFrameData(sc, reason); err != nil {
				code := uint16(closeProtocolError)
				if errors.Is(err, ws.ErrProtocolInvalidUTF8) {
					code = closeInvalidData
				}
				return true, c.protocolError(code, fmt.Errorf("bad close frame: %w", err))
			}
			code = uint16(sc)
		}
		// Echo the close (a no-op if we sent ours already); the writer closes the socket after it.
		c.fail(code, "", errPeerClose)
		return true, errPeerClose
	}
	return false, nil
}

// protocolError closes the connection with the given WebSocket code after a framing violation.
func (c *conn) protocolError(code uint16, err error) error {
	c.srv.stats.protocolErrs.Add(1)
	return c.fail(code, err.Error(), fmt.Errorf("%w: %w", ErrProtocol, err))
}

// readErr classifies an error of the read side.
func (c *conn) readErr(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return errPeerClose
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Only the close handshake sets a read deadline: the peer did not answer our close in time.
		return fmt.Errorf("transport: waiting for the peer's close: %w", err)
	default:
		return fmt.Errorf("transport: read: %w", err)
	}
}
