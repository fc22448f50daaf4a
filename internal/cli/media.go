package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
)

// Media: `hush media list|get|open|clear`, the progress of transfers, and
// how `chat show` and `storage` print attachments.

func (a *app) mediaCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "media", Short: "List, download, open or clear the files of messages"}
	var chat string
	list := &cobra.Command{
		Use:   "list",
		Short: "List attachments, oldest first, with their state and the message's local ID",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			peer, err := optionalPeer(c, chat)
			if err != nil {
				return err
			}
			items, err := c.Media(peer)
			if err != nil {
				return err
			}
			nicks := nicknames(c)
			return printList(a, items, "No attachments.", func(it client.MediaItem) []string {
				return []string{strconv.FormatInt(it.MessageID, 10) + "/" + strconv.Itoa(it.Index), label(nicks, it.Peer),
					it.SentAt.Local().Format(time.DateTime), quoteName(it.FileName), sizeText(it.Size), it.State, thumbText(it.HasThumbnail)}
			})
		},
	}
	list.Flags().StringVar(&chat, "chat", "", "only this conversation (Account ID or nickname)")

	var gf netFlags
	get := &cobra.Command{
		Use:   "get MSG_ID",
		Short: "Download the files of a message (its local ID, as media list and chat show print it)",
		Long: `Download what a message's attachments still lack, through onion paths to the
network's file server, and verify every piece against the message before it
counts. A failed download can be run again; it resumes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := localID(args[0])
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			c, err := a.openClient(ctx, &gf, true)
			if err != nil {
				return err
			}
			defer c.Close()
			m, err := c.Message(id)
			if err != nil {
				return fmt.Errorf("message %d: %w", id, err)
			}
			stop := a.showTransfers(c, m.Attachments)
			err = c.FetchMedia(ctx, id)
			stop()
			if m2, merr := c.Message(id); merr == nil {
				m = m2
			}
			if a.jsonOut {
				if perr := a.printJSON(m.Attachments); perr != nil {
					return perr
				}
				return err
			}
			for _, at := range m.Attachments {
				fmt.Fprintln(a.stdout, attachmentLine(id, at))
			}
			return err
		},
	}
	gf.register(get)

	var (
		index     int
		out       string
		thumbnail bool
	)
	openCmd := &cobra.Command{
		Use:   "open MSG_ID --out PATH",
		Short: "Write a decrypted copy of an attachment where you ask",
		Long: `Decrypt attachment --index (0 by default) of the message to --out, which must
not exist yet; with --thumbnail, its inline thumbnail (a JPEG) instead. The
copy is written beside PATH and renamed into place only once complete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := localID(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				return errors.New("--out is required")
			}
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("%s exists; not overwriting it", out)
			}
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			var at client.Attachment
			err = writeAtomically(out, func(w io.Writer) error {
				if thumbnail {
					return c.OpenThumbnail(id, index, w)
				}
				var err error
				at, err = c.OpenMedia(id, index, w)
				return err
			})
			if errors.Is(err, client.ErrNotDownloaded) {
				return fmt.Errorf("%w; run: hush media get %d", err, id)
			}
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"path": out, "attachment": at})
			}
			fmt.Fprintf(a.stdout, "Wrote %s.\n", out)
			return nil
		},
	}
	openCmd.Flags().IntVar(&index, "index", 0, "which attachment of the message")
	openCmd.Flags().StringVar(&out, "out", "", "where to write the decrypted file")
	openCmd.Flags().BoolVar(&thumbnail, "thumbnail", false, "write the inline thumbnail instead")

	var (
		clearChat string
		olderThan time.Duration
	)
	clearCmd := &cobra.Command{
		Use:   "clear",
		Short: "Delete media files and thumbnails here; the messages stay, marked cleared",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if olderThan < 0 {
				return errors.New("--older-than must not be negative")
			}
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			peer, err := optionalPeer(c, clearChat)
			if err != nil {
				return err
			}
			r, err := c.ClearMedia(peer, olderThan)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(r)
			}
			fmt.Fprintf(a.stdout, "Cleared %d attachments: %d files (%s) and %d thumbnails deleted.\n", r.Attachments, r.Files, sizeText(r.Bytes), r.Thumbnails)
			return nil
		},
	}
	clearCmd.Flags().StringVar(&clearChat, "chat", "", "only this conversation (Account ID or nickname)")
	clearCmd.Flags().DurationVar(&olderThan, "older-than", 0, "only messages older than this (such as 720h)")

	var maxBytes, autoBytes int64
	settings := &cobra.Command{
		Use:   "settings [--max-bytes N] [--auto-download-bytes N]",
		Short: "Show or set the size cap of files to send and the auto-download size (this device only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			s, err := c.MediaSettings()
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			if fl.Changed("max-bytes") || fl.Changed("auto-download-bytes") {
				if fl.Changed("max-bytes") {
					s.MaxAttachmentBytes = maxBytes
				}
				if fl.Changed("auto-download-bytes") {
					s.AutoDownloadBytes = autoBytes
				}
				if err := c.SetMediaSettings(s); err != nil {
					return err
				}
			}
			if a.jsonOut {
				return a.printJSON(s)
			}
			fmt.Fprintf(a.stdout, "Largest file to send: %d bytes\nDownloaded by itself up to: %d bytes (never from message requests)\n",
				s.MaxAttachmentBytes, s.AutoDownloadBytes)
			return nil
		},
	}
	settings.Flags().Int64Var(&maxBytes, "max-bytes", 0, "the size cap of a file to send")
	settings.Flags().Int64Var(&autoBytes, "auto-download-bytes", 0, "received files up to this size download by themselves (0: none)")

	cmd.AddCommand(list, get, openCmd, clearCmd, settings)
	return cmd
}

// optionalPeer resolves --chat, or returns nil for every conversation.
func optionalPeer(c *client.Client, s string) (*identity.AccountID, error) {
	if s == "" {
		return nil, nil
	}
	id, err := c.Resolve(s)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func localID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("message ID %q: want the local ID media list and chat show print (a number)", s)
	}
	return id, nil
}

// writeAtomically writes path through fn into a temporary file beside it,
// renamed into place only when fn succeeded: a failed or refused
// decryption leaves nothing at path.
func writeAtomically(path string, fn func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".hush-media-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fn(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link, not rename: it fails rather than replace a file that
		// appeared at path meanwhile.
		err = os.Link(tmp, path)
	}
	os.Remove(tmp)
	return err
}

// attachmentLine is how `chat show` and `media get` print an attachment.
func attachmentLine(msgID int64, at client.Attachment) string {
	return fmt.Sprintf("    + %s%s, %s, %s, %s [media %d/%d]", voiceText(at), quoteName(at.FileName), sizeText(at.Size), stateText(at.State),
		thumbText(at.HasThumbnail), msgID, at.Index)
}

func stateText(s string) string {
	switch s {
	case client.MediaCleared:
		return "media cleared"
	case client.MediaExpired:
		return "attachment expired"
	case client.MediaPending:
		return "not downloaded"
	}
	return s
}

func thumbText(has bool) string {
	if has {
		return "thumbnail"
	}
	return "no thumbnail"
}

// quoteName shows a sender's file name without letting it carry terminal
// control characters.
func quoteName(s string) string {
	if s == "" {
		return `""`
	}
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s && !strings.ContainsAny(s, " \t") {
		return s
	}
	return q
}

// sizeText prints a byte count for people.
func sizeText(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// showTransfers prints the client's transfer events until the returned
// function is called: progress bars on stderr when it is a terminal, one
// JSON object per event on stderr with --json (stdout keeps the command's
// one document), nothing otherwise. atts, if known, name the files.
func (a *app) showTransfers(c *client.Client, atts []client.Attachment) func() {
	v := newTransferView(a.stderr, a.jsonOut, a.stderrTerminal())
	if v == nil {
		return func() {}
	}
	for _, at := range atts {
		v.names[at.Index] = at.FileName
	}
	events, stop := c.Subscribe(1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		for e := range events {
			if e.Kind == client.EventTransfer {
				v.show(e.Transfer)
			}
		}
	})
	return func() { stop(); wg.Wait(); v.finish() }
}

// stderrTerminal reports whether stderr is a terminal.
func (a *app) stderrTerminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// transferView draws transfers.
type transferView struct {
	w     io.Writer
	json  bool
	names map[int]string
	bars  map[transferKey]*progressbar.ProgressBar
}

type transferKey struct {
	msg   int64
	index int
	up    bool
}

// newTransferView returns a view, or nil when nothing is to be shown.
func newTransferView(w io.Writer, asJSON, tty bool) *transferView {
	if !asJSON && !tty {
		return nil
	}
	return &transferView{w: w, json: asJSON, names: map[int]string{}, bars: map[transferKey]*progressbar.ProgressBar{}}
}

// transferJSON is one progress event with --json.
type transferJSON struct {
	Event string `json:"event"`
	client.Transfer
	Error string `json:"error,omitempty"`
}

func (v *transferView) show(t client.Transfer) {
	if v.json {
		e := transferJSON{Event: "transfer", Transfer: t}
		if t.Err != nil {
			e.Error = t.Err.Error()
		}
		b, _ := json.Marshal(e)
		fmt.Fprintf(v.w, "%s\n", b)
		return
	}
	k := transferKey{t.MessageID, t.Index, t.Up}
	if t.Up {
		k.msg = 0 // uploads precede the message
	}
	bar := v.bars[k]
	if bar == nil {
		verb := "download"
		if t.Up {
			verb = "upload"
		}
		name := v.names[t.Index]
		if name == "" {
			name = fmt.Sprintf("file %d", t.Index+1)
		}
		bar = progressbar.NewOptions64(max(t.Total, 1), progressbar.OptionSetWriter(v.w), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription(verb+" "+quoteName(name)), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(v.w) }))
		v.bars[k] = bar
	}
	if t.Total > 0 && t.Total != bar.GetMax64() {
		bar.ChangeMax64(t.Total)
	}
	bar.Set64(t.Done)
	if t.Err != nil {
		bar.Exit()
		fmt.Fprintf(v.w, "\n%s: %v\n", bar.State().Description, t.Err)
	}
}

func (v *transferView) finish() {
	for _, bar := range v.bars {
		if !bar.IsFinished() {
			bar.Exit()
		}
	}
}
