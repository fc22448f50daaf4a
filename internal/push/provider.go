package push

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	pushproto "github.com/hushnet/hush/protocol/push"
)

// Provider names, as requests (protocol/push) and the database write them.
const (
	ProviderWebPush = pushproto.ProviderWebPush
	ProviderAPNs    = pushproto.ProviderAPNs
	ProviderFCM     = pushproto.ProviderFCM
)

// Target is where one subscription's pushes go: a Web Push endpoint with
// the subscriber's keys, or an APNs or FCM device token.
type Target struct {
	Provider string
	// Endpoint, P256dh and Auth are the Web Push subscription (what
	// PushSubscription.toJSON gives; keys base64url).
	Endpoint, P256dh, Auth string
	// Token is the APNs or FCM device token.
	Token string
}

// Errors a [Provider] returns from Send.
var (
	// ErrGone: the provider says the token or endpoint no longer exists
	// (APNs 410, FCM UNREGISTERED or 404, Web Push 404 or 410); the
	// subscription is deleted.
	ErrGone = errors.New("push: the provider says the subscription is gone")
	// ErrRejected: the provider refused this push for a reason a retry
	// will not fix (a 4xx other than the above).
	ErrRejected = errors.New("push: the provider refused the push")
	// ErrUnavailable: the provider could not be reached, failed or asked
	// to slow down; a later notify may succeed.
	ErrUnavailable = errors.New("push: the provider is unavailable")
	// ErrUnsafeEndpoint: a Web Push endpoint that is not https, or whose
	// host resolves to a loopback, private, link-local or otherwise
	// non-public address.
	ErrUnsafeEndpoint = errors.New("push: endpoint refused")
	// ErrNoProvider: the server has no such provider configured.
	ErrNoProvider = errors.New("push: provider not configured")
)

// ProviderError is a provider's answer that was not a success: its HTTP
// status and the reason it gave, wrapping one of the errors above.
type ProviderError struct {
	Provider string
	Status   int
	Reason   string
	// RetryAfter is the provider's Retry-After, when it gave one.
	RetryAfter time.Duration
	Err        error
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("%s: status %d %s: %v", e.Provider, e.Status, e.Reason, e.Err)
}

func (e *ProviderError) Unwrap() error { return e.Err }

// Provider delivers one sealed payload to one target. Send returns nil
// once the provider accepted it, or an error wrapping [ErrGone],
// [ErrRejected], [ErrUnavailable] or [ErrUnsafeEndpoint]. It must be safe
// for concurrent use.
type Provider interface {
	Send(ctx context.Context, t Target, payload []byte) error
}

// classify maps an unsuccessful status to an error: gone for the statuses
// listed, unavailable for 429 and 5xx, rejected for the rest.
func classify(provider string, resp *http.Response, reason string, gone bool) error {
	e := &ProviderError{Provider: provider, Status: resp.StatusCode, Reason: reason}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	switch {
	case gone:
		e.Err = ErrGone
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		e.Err = ErrUnavailable
	default:
		e.Err = ErrRejected
	}
	return e
}

// rootsWith is the system roots plus extra (the test setting's CA); nil
// extra keeps the system roots alone.
func rootsWith(extra *x509.CertPool) *tls.Config {
	if extra == nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: extra}
}
