package client

import (
	"context"
	"errors"
	"strings"

	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/linkpreview"
	"github.com/hushnet/hush/protocol/envelope"
)

// LinkPreview is a link's title, description and small image, fetched by
// the sender of the message (if it turned link previews on) and carried in
// the message: a receiver never fetches anything for it.
type LinkPreview struct {
	URL         string `json:"url"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Image is a small JPEG without metadata, or nil.
	Image []byte `json:"image,omitempty"`
}

// LinkPreviewsWarning is what a user reads before turning link previews on
// ([Client.SetLinkPreviews]).
const LinkPreviewsWarning = "Link previews reveal your IP address to the linked site: to make a preview, hush fetches the page directly from your computer (onion paths reach only hush nodes, not other sites). Your DNS resolver also learns the site's name. Only you, the sender, fetch it; the people you write to never do."

// settingLinkPreviews is a local setting: link previews are off unless
// "on".
const settingLinkPreviews = "local/link-previews"

// SetLinkPreviews turns link previews on or off for messages this device
// sends; they are off until the user turns them on after reading
// [LinkPreviewsWarning]. Local to the device: never synced, since each
// device reveals its own IP address.
func (c *Client) SetLinkPreviews(on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	return c.db.SetSetting(settingLinkPreviews, []byte(v))
}

// LinkPreviews reports whether link previews are on (off unless set).
func (c *Client) LinkPreviews() (bool, error) {
	b, err := c.db.Setting(settingLinkPreviews)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return string(b) == "on", err
}

// withPreviews strips tracking parameters from the links in data's text
// and, when link previews are on, fetches the first link's preview
// directly (internal/linkpreview: https only, size and time capped) and
// attaches it. A preview that cannot be made is left out; the message is
// sent all the same. It is the sender's only fetch: a receiver shows what
// arrives and fetches nothing.
func (c *Client) withPreviews(ctx context.Context, data *envelope.DataMessage) *envelope.DataMessage {
	on, err := c.LinkPreviews()
	if err != nil || !on {
		return data
	}
	urls := linkpreview.FindURLs(data.GetBody())
	for _, u := range urls {
		if clean, ok := linkpreview.Clean(u); ok && clean != u {
			// The link sent is the one fetched: the receiver's click
			// carries no tracking either.
			data.Body = strings.Replace(data.Body, u, clean, 1)
		}
	}
	for _, u := range linkpreview.FindURLs(data.GetBody()) {
		f := linkpreview.Fetcher{AllowLoopbackHTTP: c.previewLoopback}
		p, err := f.Fetch(ctx, u)
		if err != nil {
			c.log.Debug("no link preview", "err", err)
			continue
		}
		data.Previews = []*envelope.LinkPreview{{Url: p.URL, Title: p.Title, Description: p.Description, ImageJpeg: p.Image}}
		break // one preview per message, as Signal and Session show
	}
	return data
}

// storedPreviews converts data's previews for the database, after the
// envelope's validation (receive) or their making (send).
func storedPreviews(data *envelope.DataMessage) []clientdb.LinkPreview {
	var out []clientdb.LinkPreview
	for _, p := range data.GetPreviews() {
		out = append(out, clientdb.LinkPreview{URL: p.GetUrl(), Title: p.GetTitle(), Description: p.GetDescription(), ImageJPEG: p.GetImageJpeg()})
	}
	return out
}
