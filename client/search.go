package client

import (
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// Search (issue 22) finds messages by their text. The database keeps every
// body sealed, and an index on disk would undo that: a plaintext one (SQLite
// FTS) holds the words in the clear, and even an encrypted one built of
// keyed word hashes tells who seizes the home which messages share words,
// how often each word recurs and, as it changes, what was written when.
// So the index lives in memory only: the texts of every message held,
// opened from the database the first time a search runs in this process
// and kept up to date by each later search, which reads the messages
// added since (local IDs only grow, migration 4) and drops those no
// longer held (unsend, timers and chat delete happen in many places and
// other processes; a list of IDs is cheap to read). A query is a
// case-insensitive substring scan over the folded texts: a plain scan of
// a few megabytes takes milliseconds, and substrings find what word
// indexes miss (parts of words, scripts without spaces). The cost is
// measured by BenchmarkSearchIndex (client/search_test.go): building it
// opens every message once, and it holds each text twice (as stored and
// folded). Nothing is written: the home holds what it held before.

// DefaultSearchLimit is how many results [Client.Search] returns when
// the caller sets no limit, and MaxSearchLimit the most it returns.
const (
	DefaultSearchLimit = 50
	MaxSearchLimit     = 1000
)

// ErrEmptyQuery: a search was given no text.
var ErrEmptyQuery = errors.New("search text is empty")

// SearchOptions narrow a search.
type SearchOptions struct {
	// Chat limits the search to the conversation with this account or
	// group; zero searches every chat.
	Chat identity.AccountID
	// Limit is the most results returned, newest first; 0 means
	// DefaultSearchLimit.
	Limit int
}

// searchIndex holds the folded texts of the messages held, by local ID
// order. mu guards all of it.
type searchIndex struct {
	mu      sync.Mutex
	entries []searchEntry // ascending ID
	last    clientdb.LocalID
}

type searchEntry struct {
	id   clientdb.LocalID
	conv clientdb.ConversationID
	text string // folded
}

// fold is the case-insensitive form of s that queries and texts are
// compared in.
func fold(s string) string { return strings.ToLower(s) }

// Search returns the messages whose text contains text, ignoring case,
// newest first: from every chat, or from opts.Chat's. Spaces count. It
// returns [ErrEmptyQuery] for blank text.
func (c *Client) Search(text string, opts SearchOptions) ([]Message, error) {
	if strings.TrimSpace(text) == "" {
		return nil, ErrEmptyQuery
	}
	q := fold(text) // spaces kept: "cat " is not "cat"
	limit := opts.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, MaxSearchLimit)
	var conv clientdb.ConversationID
	if !opts.Chat.IsZero() {
		cv, err := c.db.Conversation(opts.Chat)
		if errors.Is(err, clientdb.ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		conv = cv.ID
	}
	ids, err := c.search.find(c.db, q, conv, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(ids))
	peers := map[clientdb.ConversationID]identity.AccountID{}
	for _, id := range ids {
		m, err := c.db.Message(id)
		if errors.Is(err, clientdb.ErrNotFound) {
			continue // deleted since the index was refreshed
		} else if err != nil {
			return nil, err
		}
		peer, ok := peers[m.Conversation]
		if !ok {
			if peer, err = c.db.ConversationPeer(m.Conversation); err != nil {
				return nil, err
			}
			peers[m.Conversation] = peer
		}
		out = append(out, toMessage(peer, m))
	}
	// Newest first by the time shown, not the order they arrived here.
	sort.SliceStable(out, func(i, j int) bool { return out[i].SentAt.After(out[j].SentAt) })
	return out, nil
}

// find refreshes the index and returns the IDs of up to limit matches,
// highest ID first.
func (x *searchIndex) find(db *clientdb.DB, q string, conv clientdb.ConversationID, limit int) ([]clientdb.LocalID, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.refresh(db); err != nil {
		return nil, err
	}
	var out []clientdb.LocalID
	for i := len(x.entries) - 1; i >= 0 && len(out) < limit; i-- {
		e := &x.entries[i]
		if (conv == 0 || e.conv == conv) && strings.Contains(e.text, q) {
			out = append(out, e.id)
		}
	}
	return out, nil
}

// searchBatch is how many texts one refresh step reads.
const searchBatch = 2000

// refresh adds the messages stored since the last refresh and drops the
// ones deleted. x.mu is held.
func (x *searchIndex) refresh(db *clientdb.DB) error {
	for {
		ts, err := db.MessageTexts(x.last, searchBatch)
		if err != nil {
			return err
		}
		for _, t := range ts {
			x.entries = append(x.entries, searchEntry{id: t.ID, conv: t.Conversation, text: fold(t.Body)})
			x.last = t.ID
		}
		if len(ts) < searchBatch {
			break
		}
	}
	// IDs are never reused and every message above x.last was just
	// added, so the count equals the entries' unless one was deleted
	// (or one arrived since: then the full check below finds nothing).
	n, err := db.CountMessages()
	if err != nil || n == len(x.entries) {
		return err
	}
	live, err := db.MessageIDs()
	if err != nil {
		return err
	}
	// Both lists ascend: one merge pass keeps the entries still held.
	kept := x.entries[:0]
	j := 0
	for _, e := range x.entries {
		for j < len(live) && live[j] < e.id {
			j++
		}
		if j < len(live) && live[j] == e.id {
			kept = append(kept, e)
		}
	}
	clear(x.entries[len(kept):])
	x.entries = kept
	return nil
}
