package client

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// FuzzWebSocketRead feeds arbitrary router bytes to the WebSocket frame reader: it must return
// messages within the size limit or an error, and never panic.
func FuzzWebSocketRead(f *testing.F) {
	frame := func(fr ws.Frame) []byte { return ws.MustCompileFrame(fr) }
	f.Add(frame(ws.NewTextFrame([]byte(`[36,1,2,{},["x"]]`))))
	f.Add(append(frame(ws.NewFrame(ws.OpText, false, []byte("[1,"))),
		append(frame(ws.NewPingFrame([]byte("p"))), frame(ws.NewFrame(ws.OpContinuation, true, []byte("2]")))...)...))
	f.Add(frame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusGoingAway, "bye"))))
	f.Add(frame(ws.NewBinaryFrame(bytes.Repeat([]byte{1}, 300))))
	f.Add([]byte{0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 256
		tr := &wsTransport{br: bufio.NewReader(bytes.NewReader(data)), opcode: ws.OpText, max: limit, pong: func([]byte) {}}
		for {
			msg, err := tr.readMessage()
			if err != nil {
				return
			}
			if len(msg) > limit {
				t.Fatalf("message of %d bytes over the limit %d", len(msg), limit)
			}
		}
	})
}

// FuzzRawSocketRead feeds arbitrary router bytes to the RawSocket frame reader.
func FuzzRawSocketRead(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, '[', ']'})
	f.Add([]byte{1, 0, 0, 1, 'p', 0, 0, 0, 2, '[', ']'})
	f.Add([]byte{0, 0xff, 0xff, 0xff})
	f.Add([]byte{0x08, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 512
		tr := &rsTransport{br: bufio.NewReader(bytes.NewReader(data)), maxRecv: limit, pong: func([]byte) {}}
		for {
			msg, err := tr.readMessage()
			if err != nil {
				return
			}
			if len(msg) > limit {
				t.Fatalf("message of %d bytes over the limit %d", len(msg), limit)
			}
		}
	})
}
