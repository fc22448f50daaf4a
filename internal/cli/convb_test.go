package cli

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// wavfileCmd is the script command `wavfile NAME MS`: a 16-bit mono
// 8 kHz WAV of MS milliseconds, a tone in its second half.
func wavfileCmd(ts *testscript.TestScript, neg bool, args []string) {
	ms, err := strconv.Atoi(args[1])
	ts.Check(err)
	n := 8000 * ms / 1000
	var data bytes.Buffer
	for i := range n {
		v := int16(0)
		if i >= n/2 && i%2 == 0 {
			v = 20000
		}
		binary.Write(&data, binary.LittleEndian, v)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data.Len()))
	b.Write(data.Bytes())
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o600))
}
