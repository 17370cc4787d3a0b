package mail

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

// Sender delivers one mail.
type Sender interface {
	Send(ctx context.Context, m storage.Mail) error
}

// Outbox is the part of storage.AccountStore the worker uses.
type Outbox interface {
	ClaimMails(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]storage.Mail, error)
	DeleteMail(ctx context.Context, id string) error
	RetryMail(ctx context.Context, id string, next time.Time, lastError string, failed bool) error
}

// Metrics counts deliveries; telemetry.Metrics implements it. outcome is
// "sent", "retry" (a failed attempt that will be repeated) or "failed"
// (given up).
type Metrics interface {
	MailDelivery(kind, outcome string)
}

// WorkerOptions configures a Worker. Zero values take the defaults.
type WorkerOptions struct {
	Outbox Outbox
	Sender Sender
	// Interval is how often the outbox is polled (default 5s); Wake
	// starts a round at once.
	Interval time.Duration
	// Batch is how many mails one round claims (default 10).
	Batch int
	// MaxAttempts is how often a mail is tried before it is kept as
	// failed (default 10).
	MaxAttempts int
	// BaseBackoff is the wait after the first failed attempt (default
	// 30s); it doubles with every further one, up to MaxBackoff (default
	// 1h), with jitter.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// SendTimeout bounds one delivery (default 60s).
	SendTimeout time.Duration
	Metrics     Metrics // may be nil
	Logger      *slog.Logger
	Now         func() time.Time
}

// Worker delivers the outbox. Any number of workers, on any nodes, may
// share one outbox: each claims its mails under a lease.
type Worker struct {
	o    WorkerOptions
	wake chan struct{}
}

// NewWorker returns a worker; Run starts it.
func NewWorker(o WorkerOptions) *Worker {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 10
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 30 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	o.MaxBackoff = max(o.MaxBackoff, o.BaseBackoff)
	if o.SendTimeout <= 0 {
		o.SendTimeout = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Worker{o: o, wake: make(chan struct{}, 1)}
}

// Wake asks for a round now, without waiting for it: a request that
// enqueued a mail calls it so that the mail leaves at once.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// lease is how long claimed mails are kept from other workers: longer
// than the batch can take, since every delivery ends at SendTimeout.
func (w *Worker) lease() time.Duration {
	return time.Duration(w.o.Batch)*w.o.SendTimeout + 30*time.Second
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	for {
		for {
			n, err := w.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					w.o.Logger.WarnContext(ctx, "mail: cannot read the outbox", "err", err.Error())
				}
				break
			}
			if n < w.o.Batch {
				break // the outbox is drained for now
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims one batch and delivers it, returning how many mails it
// claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	ms, err := w.o.Outbox.ClaimMails(ctx, w.o.Now(), w.lease(), w.o.Batch)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		w.deliver(ctx, m)
	}
	return len(ms), nil
}

// deliver sends m and records the outcome. A failure to record it leaves
// the mail leased: it is tried again when the lease ends, so a mail may
// then be sent twice, never lost.
func (w *Worker) deliver(ctx context.Context, m storage.Mail) {
	sctx, cancel := context.WithTimeout(ctx, w.o.SendTimeout)
	err := w.o.Sender.Send(sctx, m)
	cancel()
	// Outcomes are recorded even when ctx ends (shutdown): a sent mail
	// must leave the outbox.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	log := w.o.Logger.With("mail", m.ID, "kind", m.Kind, "attempt", m.Attempts)
	if err == nil {
		if derr := w.o.Outbox.DeleteMail(rctx, m.ID); derr != nil {
			log.WarnContext(ctx, "mail: sent but still in the outbox; it may be sent again", "err", derr.Error())
		}
		w.count(m.Kind, "sent")
		log.InfoContext(ctx, "mail: sent")
		return
	}
	var perm *PermanentError
	failed := errors.As(err, &perm) || m.Attempts >= w.o.MaxAttempts
	next := w.o.Now().Add(w.backoff(m.Attempts))
	if rerr := w.o.Outbox.RetryMail(rctx, m.ID, next, Describe(err), failed); rerr != nil {
		log.WarnContext(ctx, "mail: cannot record a failed attempt", "err", rerr.Error())
	}
	if failed {
		w.count(m.Kind, "failed")
		log.ErrorContext(ctx, "mail: given up", "err", Describe(err))
		return
	}
	w.count(m.Kind, "retry")
	log.WarnContext(ctx, "mail: attempt failed, will retry", "err", Describe(err), "next", next.UTC().Format(time.RFC3339))
}

// backoff is the wait after the attempt-th failure: BaseBackoff doubled
// per earlier failure, capped at MaxBackoff, of which the last half is
// random, so that mails that failed together do not retry together.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.o.BaseBackoff
	for i := 1; i < attempt && d < w.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.o.MaxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

func (w *Worker) count(kind, outcome string) {
	if w.o.Metrics != nil {
		w.o.Metrics.MailDelivery(kind, outcome)
	}
}
