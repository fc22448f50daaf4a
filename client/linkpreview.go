package client

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
const LinkPreviewsWarning = "Link previews reveal your IP address to the linked site: to make a preview, hush fetches the page directly from your computer (onion paths reach only hush nodes, not other sites). Only you, the sender, fetch it; the people you write to never do."
