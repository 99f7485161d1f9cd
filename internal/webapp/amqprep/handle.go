package amqprep

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gateway-dev/gateway/internal/webapp"
)

// publishTimeout bounds a reply or a dead-letter publication (including its confirm).
const publishTimeout = 30 * time.Second

// Headers added to a dead-lettered copy.
const (
	HeaderError              = "x-gateway-error"   // the error URI
	HeaderMessage            = "x-gateway-message" // the error text
	HeaderStatus             = "x-gateway-status"  // the HTTP status of the error (int32)
	HeaderOriginalRoutingKey = "x-original-routing-key"
	HeaderOriginalExchange   = "x-original-exchange"
)

// handle processes one delivery, deduplicated by message id.
func (r *Rep) handle(s *session, d amqp.Delivery) {
	if d.MessageId == "" {
		r.process(s, d, nil)
		return
	}
	for {
		c := r.dedup.claim(d.MessageId)
		switch {
		case c.entry != nil:
			r.process(s, d, c.entry)
			return
		case c.duplicate:
			r.duplicates.Add(1)
			r.reply(s, d, c.reply)
			r.ack(d)
			return
		}
		select {
		case <-c.wait: // the other delivery of this id finished: look again
		case <-r.stopCtx.Done():
			r.nack(d)
			return
		}
	}
}

// process runs the delivery's operation and settles the delivery: acknowledged after success or
// after a confirmed dead-letter copy, requeued after a backoff on a transient failure.
func (r *Rep) process(s *session, d amqp.Delivery, claim *dedupEntry) {
	op, reply, err := r.invoke(d.Body)
	if err == nil {
		r.finish(claim, true, reply)
		r.retry.reset()
		r.reply(s, d, reply)
		r.ack(d)
		r.processed.Add(1)
		return
	}
	log := r.cfg.Logger.With("queue", r.cfg.Queue, "op", op, "message_id", d.MessageId)
	status := webapp.HTTPStatus(err)
	if status >= 500 {
		r.finish(claim, false, nil)
		r.failed.Add(1)
		log.Warn("amqp: transient failure; requeueing", "err", err, "status", status)
		r.requeue(d)
		return
	}
	if dlErr := r.deadLetter(s, d, err, status); dlErr != nil {
		r.finish(claim, false, nil)
		log.Error("amqp: cannot dead-letter a refused message; requeueing", "err", dlErr, "refusal", err)
		r.requeue(d)
		return
	}
	r.finish(claim, true, reply)
	r.deadLettered.Add(1)
	log.Info("amqp: message refused and dead-lettered", "err", err, "status", status,
		"exchange", r.cfg.DeadLetterExchange)
	r.reply(s, d, reply)
	r.ack(d)
}

// invoke decodes body and runs its operation. It returns the operation's name, the reply envelope
// and the operation's error (a panic in the Invoker is an internal error).
func (r *Rep) invoke(body []byte) (op string, reply []byte, err error) {
	op, req, err := splitOp(body)
	if err != nil {
		return op, webapp.EncodeError(err), err
	}
	defer func() {
		if p := recover(); p != nil {
			err = webapp.Errorf(webapp.ErrInternal, "operation %s panicked: %v", op, p)
			reply = webapp.EncodeError(err)
		}
	}()
	result, err := r.inv.Invoke(r.ctx, op, req)
	if err != nil {
		return op, webapp.EncodeError(err), err
	}
	return op, webapp.EncodeResult(result), nil
}

// finish ends a dedup claim (nil for a message without id).
func (r *Rep) finish(claim *dedupEntry, final bool, reply []byte) {
	if claim != nil {
		r.dedup.finish(claim, final, reply)
	}
}

// deadLetter publishes a copy of d to the dead-letter exchange with the reason in its headers and
// waits for the broker's confirm.
func (r *Rep) deadLetter(s *session, d amqp.Delivery, cause error, status int) error {
	e := webapp.AsError(cause)
	headers := amqp.Table{}
	for k, v := range d.Headers {
		headers[k] = v
	}
	headers[HeaderError] = string(e.URI)
	headers[HeaderMessage] = e.Message
	headers[HeaderStatus] = int32(status)
	headers[HeaderOriginalRoutingKey] = d.RoutingKey
	headers[HeaderOriginalExchange] = d.Exchange
	msg := amqp.Publishing{
		Headers:         headers,
		ContentType:     d.ContentType,
		ContentEncoding: d.ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		Priority:        d.Priority,
		CorrelationId:   d.CorrelationId,
		ReplyTo:         d.ReplyTo,
		MessageId:       d.MessageId,
		Timestamp:       d.Timestamp,
		Type:            d.Type,
		AppId:           d.AppId,
		Body:            d.Body,
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	dc, err := s.dl.PublishWithDeferredConfirmWithContext(ctx, r.cfg.DeadLetterExchange, d.RoutingKey, false, false, msg)
	if err != nil {
		return fmt.Errorf("publishing to %q: %w", r.cfg.DeadLetterExchange, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("waiting for the confirm from %q: %w", r.cfg.DeadLetterExchange, err)
	}
	if !ok {
		return fmt.Errorf("the broker did not confirm the copy to %q", r.cfg.DeadLetterExchange)
	}
	return nil
}

// reply publishes envelope to d's reply_to queue through the default exchange, if it has one.
func (r *Rep) reply(s *session, d amqp.Delivery, envelope []byte) {
	if d.ReplyTo == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	err := s.ch.PublishWithContext(ctx, "", d.ReplyTo, false, false, amqp.Publishing{
		ContentType:   "application/json",
		CorrelationId: d.CorrelationId,
		DeliveryMode:  d.DeliveryMode,
		Body:          envelope,
	})
	if err != nil {
		// The delivery's acknowledgement fails on the same channel: it is redelivered and answered then.
		r.cfg.Logger.Warn("amqp: cannot reply", "reply_to", d.ReplyTo, "err", err)
	}
}

// ack acknowledges d; a failure means the channel closed and the broker redelivers it (then dedup
// answers it without running it again).
func (r *Rep) ack(d amqp.Delivery) {
	if err := d.Ack(false); err != nil {
		r.cfg.Logger.Debug("amqp: ack failed; the message will be redelivered", "message_id", d.MessageId, "err", err)
	}
}

// nack returns d to the queue now.
func (r *Rep) nack(d amqp.Delivery) {
	if err := d.Nack(false, true); err != nil {
		r.cfg.Logger.Debug("amqp: nack failed; the message will be redelivered", "message_id", d.MessageId, "err", err)
	}
}

// requeue returns d to the queue after the retry backoff (at once when stopping).
func (r *Rep) requeue(d amqp.Delivery) {
	r.sleep(r.retry.next())
	r.nack(d)
}
