package identity

import (
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// The recovery phrase is the Electrum/Monero mnemonic that Session uses
// (session-desktop ts/session/crypto/mnemonic.ts): each 4-byte group of the
// seed, read little-endian as x, becomes three words w1 = x mod n,
// w2 = (x/n + w1) mod n, w3 = (x/n/n + w2) mod n over the n = 1626-word list;
// a 13th checksum word repeats the word at index CRC32(IEEE) of the
// concatenated 3-letter prefixes, modulo 12.

//go:embed data/mnemonic-english.json
var wordListJSON []byte

// PhraseWords is the number of words in a recovery phrase.
const PhraseWords = 13

const prefixLen = 3

// wordList and prefixIndex are read-only after init.
var (
	wordList    []string
	prefixIndex map[string]int
)

func init() {
	if err := json.Unmarshal(wordListJSON, &wordList); err != nil || len(wordList) != 1626 {
		panic("identity: embedded word list is damaged")
	}
	prefixIndex = make(map[string]int, len(wordList))
	for i, w := range wordList {
		prefixIndex[w[:prefixLen]] = i
	}
	if len(prefixIndex) != len(wordList) {
		panic("identity: word list prefixes are not unique")
	}
}

// Errors returned by [ParsePhrase]. Each names one thing the user can fix.
var (
	ErrTooFewWords  = errors.New("recovery phrase has too few words: it has 13")
	ErrTooManyWords = errors.New("recovery phrase has too many words: it has 13")
	ErrUnknownWord  = errors.New("recovery phrase has a word that is not in the word list")
	ErrBadChecksum  = errors.New("recovery phrase checksum word does not match: a word may be misspelled or out of order")
	ErrBadPhrase    = errors.New("recovery phrase does not encode a valid seed")
)

// Phrase returns the 13-word recovery phrase of a seed.
func Phrase(s Seed) string {
	n := uint32(len(wordList))
	words := make([]string, 0, PhraseWords)
	for i := 0; i < SeedSize; i += 4 {
		x := binary.LittleEndian.Uint32(s[i:])
		w1 := x % n
		w2 := (x/n + w1) % n
		w3 := (x/n/n + w2) % n
		words = append(words, wordList[w1], wordList[w2], wordList[w3])
	}
	words = append(words, words[checksumIndex(words)])
	return strings.Join(words, " ")
}

// ParsePhrase decodes a recovery phrase. Words are matched by their first
// three letters, in any case, separated by any whitespace, as Session does.
// Errors wrap the Err values above; an unknown word is named in the message.
func ParsePhrase(phrase string) (Seed, error) {
	var s Seed
	words := strings.Fields(strings.ToLower(phrase))
	switch {
	case len(words) < PhraseWords:
		return s, fmt.Errorf("%w, got %d", ErrTooFewWords, len(words))
	case len(words) > PhraseWords:
		return s, fmt.Errorf("%w, got %d", ErrTooManyWords, len(words))
	}
	idx := make([]uint64, PhraseWords)
	for i, w := range words {
		j, ok := lookupWord(w)
		if !ok {
			return s, fmt.Errorf("%w: %q (word %d)", ErrUnknownWord, w, i+1)
		}
		idx[i] = uint64(j)
	}
	n := uint64(len(wordList))
	for g := 0; g < 4; g++ {
		w1, w2, w3 := idx[3*g], idx[3*g+1], idx[3*g+2]
		x := w1 + n*((n-w1+w2)%n) + n*n*((n-w2+w3)%n)
		// n³ > 2³², so some triples encode no 32-bit group; Phrase never
		// writes them. (Session's JavaScript silently truncates; we refuse.)
		if x > 0xffffffff {
			return Seed{}, fmt.Errorf("%w: words %d–%d", ErrBadPhrase, 3*g+1, 3*g+3)
		}
		binary.LittleEndian.PutUint32(s[4*g:], uint32(x))
	}
	want := words[checksumIndex(words[:PhraseWords-1])]
	if prefix(want) != prefix(words[PhraseWords-1]) {
		return Seed{}, ErrBadChecksum
	}
	return s, nil
}

func lookupWord(w string) (int, bool) {
	if len(w) < prefixLen {
		return 0, false // every listed word has at least four letters
	}
	i, ok := prefixIndex[w[:prefixLen]]
	return i, ok
}

func prefix(w string) string {
	if len(w) < prefixLen {
		return w
	}
	return w[:prefixLen]
}

func checksumIndex(words []string) int {
	var b strings.Builder
	for _, w := range words {
		b.WriteString(prefix(w))
	}
	return int(crc32.ChecksumIEEE([]byte(b.String())) % uint32(len(words)))
}
