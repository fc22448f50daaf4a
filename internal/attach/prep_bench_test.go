package attach

import (
	"bytes"
	"image/jpeg"
	"testing"
)

// BenchmarkPrepareImage cleans a 12-megapixel camera photo (4000×3000,
// EXIF orientation 6, so the pixels are turned too).
func BenchmarkPrepareImage(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, photo(4000, 3000), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	in := append(append([]byte{0xff, 0xd8}, exifSegment(6)...), buf.Bytes()[2:]...)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, _, _, _, err := PrepareImage(bytes.NewReader(in), ImageLimits{}); err != nil {
			b.Fatal(err)
		}
	}
}
