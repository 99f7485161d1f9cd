package transport

import (
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gateway-dev/gateway/wamp/codec"
)

// RawSocket constants (WAMP spec, "RawSocket Transport").
const (
	rawMagic = 0x7F

	rawRegular = 0 // frame types
	rawPing    = 1
	rawPong    = 2

	rawMaxLength = 1 << 24 // 2^(15+9): the largest length a handshake can announce

	// Handshake error codes.
	rawErrSerializer = 1 // serializer unsupported
	rawErrMaxLength  = 2 // maximum message length unacceptable (never sent: we accept every length)
	rawErrReserved   = 3 // use of reserved bits
	rawErrMaxConns   = 4 // maximum connection count reached (sent while shutting down)
)

// rawLimit returns the length exponent we announce and the limit it stands for: the largest power
// of two not above maxMsg, between 2^9 and 2^24.
func rawLimit(maxMsg int) (exp byte, limit int) {
	e := bits.Len(uint(maxMsg)) - 1 - 9
	e = max(0, min(e, 15))
	return byte(e), 1 << (e + 9)
}

// rawType returns the frame type of an outbound item.
func rawType(k itemKind) byte {
	switch k {
	case itemPing:
		return rawPing
	case itemPong:
		return rawPong
	default:
		return rawRegular
	}
}

// appendRawHeader appends a 4-byte RawSocket frame header. A length of exactly 2^24 is encoded with
// the extra length bit.
func appendRawHeader(b []byte, typ byte, n int) []byte {
	if n == rawMaxLength {
		return append(b, typ|0x08, 0, 0, 0)
	}
	return append(b, typ, byte(n>>16), byte(n>>8), byte(n))
}

// rawSocket completes the RawSocket handshake on pc (whose first byte, 0x7F, was consumed) and then
// serves the connection. The caller holds a wg count and has pc registered as pending; the handshake
// deadline is set.
func (s *Server) rawSocket(pc *prefixConn) {
	nc := pc.Conn
	var hs [4]byte
	hs[0] = rawMagic
	if _, err := io.ReadFull(nc, hs[1:]); err != nil {
		s.handshakeFailed(pc, "rawsocket handshake", err)
		return
	}
	var ser codec.Serializer
	errCode := byte(0)
	switch {
	case hs[2] != 0 || hs[3] != 0:
		errCode = rawErrReserved
	default:
		for _, x := range s.cfg.Serializers {
			if byte(x.ID()) == hs[1]&0x0F {
				ser = x
				break
			}
		}
		if ser == nil {
			errCode = rawErrSerializer
		}
	}
	if errCode == 0 && s.isClosing() {
		errCode = rawErrMaxConns
	}
	if errCode != 0 {
		_, _ = nc.Write([]byte{rawMagic, errCode << 4, 0, 0})
		s.handshakeFailed(pc, "rawsocket handshake", fmt.Errorf("refused with error %d (request % x)", errCode, hs))
		return
	}
	if _, err := nc.Write([]byte{rawMagic, s.rawExp<<4 | hs[1]&0x0F, 0, 0}); err != nil {
		s.handshakeFailed(pc, "rawsocket handshake reply", err)
		return
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		s.handshakeFailed(pc, "rawsocket handshake", err)
		return
	}
	c := s.newConn(nc, kindRawSocket, ser, pc.tls != nil)
	c.maxSend = min(1<<(hs[1]>>4+9), s.cfg.MaxQueueBytes)
	if !s.registerRaw(pc, c) {
		_ = nc.Close()
		return
	}
	s.wg.Add(1) // run releases it; the handshake's own count is released by handle
	c.run()
}

// readRawSocket reads frames until the connection ends and returns why it ended.
func (c *conn) readRawSocket() error {
	for {
		c.atBoundary = true
		if _, err := io.ReadFull(c, c.hdr[:4]); err != nil {
			if err == io.EOF {
				return errPeerClose
			}
			return c.readErr(err)
		}
		b0 := c.hdr[0]
		n := int(c.hdr[1])<<16 | int(c.hdr[2])<<8 | int(c.hdr[3])
		if b0&0xF0 != 0 {
			return c.rawProtocolError(fmt.Errorf("reserved bits set in frame header %#x", b0))
		}
		if b0&0x08 != 0 {
			if n != 0 {
				return c.rawProtocolError(fmt.Errorf("length bit 24 set with a non-zero low length"))
			}
			n = rawMaxLength
		}
		typ := b0 & 0x07
		if typ > rawPong {
			return c.rawProtocolError(fmt.Errorf("reserved frame type %d", typ))
		}
		if n > c.maxRecv {
			c.srv.stats.tooBig.Add(1)
			return c.fail(0, "", fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooBig, n, c.maxRecv))
		}
		switch typ {
		case rawRegular:
			var msg []byte
			var pooled *[]byte
			if n <= smallMessage {
				pooled = smallPool.Get().(*[]byte)
				msg = (*pooled)[:0]
			}
			msg, err := c.readAppend(msg, n)
			if err == nil {
				c.deliver(msg)
			}
			if pooled != nil {
				smallPool.Put(pooled)
			}
			if err != nil {
				return c.readErr(err)
			}
		case rawPing:
			payload, err := c.readAppend(nil, n)
			if err != nil {
				return c.readErr(err)
			}
			c.enqueueControl(itemPong, payload)
		case rawPong:
			if err := c.discard(n); err != nil {
				return c.readErr(err)
			}
		}
	}
}

func (c *conn) rawProtocolError(err error) error {
	c.srv.stats.protocolErrs.Add(1)
	return c.fail(0, "", fmt.Errorf("%w: %w", ErrProtocol, err))
}
