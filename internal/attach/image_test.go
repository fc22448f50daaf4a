package attach

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/hushnet/hush/protocol/envelope"
)

const secretPlace = "HUSH-SECRET-PLACE" // in the test photos' metadata only

// photo is a w×h image with a red square in its top-left corner.
func photo(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x), uint8(y), 200, 255}
			if x < w/4 && y < h/4 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// exifSegment builds an APP1 Exif segment as a camera writes it: IFD0 with
// an image description, the orientation and a pointer to a GPS IFD holding
// latitude and longitude (48°51'29.67" N, 2°17'40.2" E).
func exifSegment(orientation uint16) []byte {
	le := binary.LittleEndian
	t := []byte("II*\x00")
	t = le.AppendUint32(t, 8)
	entry := func(b []byte, tag, typ uint16, count, value uint32) []byte {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		return le.AppendUint32(b, value)
	}
	const gpsIFD, latAt, lonAt, descAt = 50, 104, 128, 152
	desc := secretPlace + "\x00"
	// IFD0 at 8: 3 entries, ends at 8+2+36+4 = 50.
	t = le.AppendUint16(t, 3)
	t = entry(t, 0x010e, 2, uint32(len(desc)), descAt) // ImageDescription
	t = entry(t, 0x0112, 3, 1, uint32(orientation))    // Orientation
	t = entry(t, 0x8825, 4, 1, gpsIFD)                 // GPSInfo
	t = le.AppendUint32(t, 0)
	// GPS IFD at 50: 4 entries, ends at 50+2+48+4 = 104.
	t = le.AppendUint16(t, 4)
	t = entry(t, 0x0001, 2, 2, uint32('N'))
	t = entry(t, 0x0002, 5, 3, latAt)
	t = entry(t, 0x0003, 2, 2, uint32('E'))
	t = entry(t, 0x0004, 5, 3, lonAt)
	t = le.AppendUint32(t, 0)
	for _, r := range [][2]uint32{{48, 1}, {51, 1}, {2967, 100}, {2, 1}, {17, 1}, {402, 10}} {
		t = le.AppendUint32(t, r[0])
		t = le.AppendUint32(t, r[1])
	}
	t = append(t, desc...)
	payload := append([]byte("Exif\x00\x00"), t...)
	seg := []byte{0xff, 0xe1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(2+len(payload)))
	return append(seg, payload...)
}

// jpegWithEXIF encodes img as a JPEG and puts the EXIF segment right after
// the start-of-image marker, where cameras put it.
func jpegWithEXIF(t testing.TB, img image.Image, orientation uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), exifSegment(orientation)...), b[2:]...)
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

func TestPrepareImageStripsEXIF(t *testing.T) {
	in := jpegWithEXIF(t, photo(400, 300), 6)
	if !bytes.Contains(in, []byte(secretPlace)) || jpegOrientation(in) != 6 {
		t.Fatal("test photo lacks its EXIF")
	}
	if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("test photo does not decode: %v", err)
	}
	clean, mime, w, h, thumb, err := PrepareImage(bytes.NewReader(in), ImageLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if mime != "image/jpeg" {
		t.Fatalf("mime %q", mime)
	}
	for _, leak := range []string{secretPlace, "Exif", "\xff\xe1"} {
		if bytes.Contains(clean, []byte(leak)) {
			t.Fatalf("clean photo still holds %q", leak)
		}
	}
	// Orientation 6: the photo was taken turned; upright it is 300×400
	// and the red corner is top right.
	if w != 300 || h != 400 {
		t.Fatalf("dimensions %d×%d, want 300×400", w, h)
	}
	img, err := jpeg.Decode(bytes.NewReader(clean))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 400 {
		t.Fatalf("decoded %v", b)
	}
	if r, g, _, _ := img.At(280, 20).RGBA(); r < 0xc000 || g > 0x4000 {
		t.Fatalf("top right is not red: r=%x g=%x", r, g)
	}
	checkThumbnail(t, thumb, 120, 160)
}

func checkThumbnail(t *testing.T, thumb []byte, w, h int) {
	t.Helper()
	if len(thumb) > envelope.MaxThumbnailSize {
		t.Fatalf("thumbnail is %d bytes", len(thumb))
	}
	img, err := jpeg.Decode(bytes.NewReader(thumb))
	if err != nil {
		t.Fatalf("thumbnail does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("thumbnail %d×%d, want %d×%d", b.Dx(), b.Dy(), w, h)
	}
}

func TestPrepareImagePNG(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, photo(64, 48)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	const afterIHDR = 8 + 25 // signature, IHDR
	in := append(append(bytes.Clone(b[:afterIHDR]), pngChunk("tEXt", []byte("Comment\x00"+secretPlace))...), b[afterIHDR:]...)
	clean, mime, w, h, thumb, err := PrepareImage(bytes.NewReader(in), ImageLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if mime != "image/png" || w != 64 || h != 48 {
		t.Fatalf("%s %d×%d", mime, w, h)
	}
	if bytes.Contains(clean, []byte(secretPlace)) {
		t.Fatal("clean PNG keeps its text chunk")
	}
	if _, err := png.Decode(bytes.NewReader(clean)); err != nil {
		t.Fatal(err)
	}
	checkThumbnail(t, thumb, 64, 48) // never scaled up
}

func TestPrepareImageWebPBecomesJPEG(t *testing.T) {
	in, err := os.ReadFile("testdata/blue-purple-pink.lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	clean, mime, w, h, thumb, err := PrepareImage(bytes.NewReader(in), ImageLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if mime != "image/jpeg" {
		t.Fatalf("mime %q", mime)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(clean))
	if err != nil || cfg.Width != w || cfg.Height != h {
		t.Fatalf("clean %v %d×%d, reported %d×%d", err, cfg.Width, cfg.Height, w, h)
	}
	if len(thumb) == 0 || len(thumb) > envelope.MaxThumbnailSize {
		t.Fatalf("thumbnail %d bytes", len(thumb))
	}
}

// headerOnly yields the header and then fails: a test that the decoder
// never ran.
type headerOnly struct{ r io.Reader }

var errDecoded = errors.New("read past the header: the image was decoded")

func (h headerOnly) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	if err == io.EOF {
		return n, errDecoded
	}
	return n, err
}

func TestPrepareImageRefuses(t *testing.T) {
	ihdr := func(w, h uint32) []byte {
		d := binary.BigEndian.AppendUint32(nil, w)
		d = binary.BigEndian.AppendUint32(d, h)
		d = append(d, 8, 6, 0, 0, 0) // 8-bit RGBA
		return append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", d)...)
	}
	// A JPEG start: a frame header announcing 60000×60000 and the start
	// of a scan (where DecodeConfig stops without a JFIF segment).
	sof := []byte{0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xea, 0x60, 0xea, 0x60, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xda, 0, 12}
	var gifBuf bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	if err := gif.Encode(&gifBuf, pal, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		in     []byte
		limits ImageLimits
		want   error
	}{
		{"PNG bomb 100000×100000", ihdr(100000, 100000), ImageLimits{}, ErrImageTooLarge},
		{"PNG one side too long", ihdr(8193, 10), ImageLimits{}, ErrImageTooLarge},
		{"PNG 8192×8192 is over 40 MP", ihdr(8192, 8192), ImageLimits{}, ErrImageTooLarge},
		{"PNG over a caller's limit", ihdr(101, 100), ImageLimits{MaxPixels: 10_000}, ErrImageTooLarge},
		{"JPEG bomb 60000×60000", sof, ImageLimits{}, ErrImageTooLarge},
		{"GIF is sent as a file", gifBuf.Bytes(), ImageLimits{}, ErrNotPhoto},
		{"not an image", []byte("%PDF-1.7 hello"), ImageLimits{}, ErrNotPhoto},
		{"empty", nil, ImageLimits{}, ErrNotPhoto},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, _, _, err := PrepareImage(headerOnly{bytes.NewReader(tc.in)}, tc.limits)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOrient(t *testing.T) {
	// A 3×2 image whose pixels are numbered; each orientation's top-left
	// pixel is the source corner EXIF says it must be (Exif 2.32 table 6).
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[4*i] = uint8(i + 1)
	}
	at := func(x, y int) uint8 { return uint8(y*3 + x + 1) }
	tests := []struct {
		o       int
		w, h    int
		topLeft uint8
	}{
		{1, 3, 2, at(0, 0)}, {2, 3, 2, at(2, 0)}, {3, 3, 2, at(2, 1)}, {4, 3, 2, at(0, 1)},
		{5, 2, 3, at(0, 0)}, {6, 2, 3, at(0, 1)}, {7, 2, 3, at(2, 1)}, {8, 2, 3, at(2, 0)},
	}
	for _, tc := range tests {
		img := orient(src, tc.o)
		b := img.Bounds()
		r, _, _, _ := img.At(b.Min.X, b.Min.Y).RGBA()
		if b.Dx() != tc.w || b.Dy() != tc.h || uint8(r>>8) != tc.topLeft {
			t.Errorf("orientation %d: %d×%d top-left %d, want %d×%d %d", tc.o, b.Dx(), b.Dy(), r>>8, tc.w, tc.h, tc.topLeft)
		}
	}
}

func TestThumbnailFits(t *testing.T) {
	// Noise compresses worst: the quality loop must bring it under 8 KiB.
	img := image.NewRGBA(image.Rect(0, 0, 480, 360))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	thumb, err := Thumbnail(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(thumb) > envelope.MaxThumbnailSize {
		t.Fatalf("%d bytes", len(thumb))
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
	if err != nil || max(cfg.Width, cfg.Height) > ThumbnailSide {
		t.Fatalf("%v %d×%d", err, cfg.Width, cfg.Height)
	}
}

func TestSniffMIME(t *testing.T) {
	var jpg bytes.Buffer
	jpeg.Encode(&jpg, photo(8, 8), nil)
	zip := []byte("PK\x03\x04\x14\x00\x00\x00")
	tests := []struct {
		name string
		head []byte
		file string
		want string
	}{
		{"jpeg by its bytes", jpg.Bytes(), "x.bin", "image/jpeg"},
		{"a name does not override the bytes", jpg.Bytes(), "notes.txt", "image/jpeg"},
		{"text", []byte("hello"), "a", "text/plain"},
		{"markdown by its name", []byte("# hello"), "README.MD", "text/markdown"},
		{"pdf", []byte("%PDF-1.7\n"), "a.pdf", "application/pdf"},
		{"docx is a zip named so", zip, "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"a zip named .md stays a zip", zip, "a.md", "application/zip"},
		{"binary named .txt stays binary", []byte{0, 1, 2, 3, 0xff}, "a.txt", "application/octet-stream"},
		{"heic by its name", []byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'}, "IMG_1.HEIC", "image/heic"},
		{"webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "", "image/webp"},
		{"empty", nil, "", "text/plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SniffMIME(tc.head, tc.file); got != tc.want {
				t.Fatalf("SniffMIME = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add(append([]byte{0xff, 0xd8}, exifSegment(6)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

// TestPrepareImageFitSide: FitSide scales a larger image down to fit,
// keeping its aspect ratio, and leaves a smaller one as it is.
func TestPrepareImageFitSide(t *testing.T) {
	for _, tc := range []struct {
		name         string
		w, h, fit    int
		wantW, wantH int
	}{
		{"wide", 900, 300, 640, 640, 213},
		{"tall", 300, 1280, 640, 150, 640},
		{"small", 40, 30, 640, 40, 30},
		{"off", 900, 300, 0, 900, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in bytes.Buffer
			if err := jpeg.Encode(&in, photo(tc.w, tc.h), nil); err != nil {
				t.Fatal(err)
			}
			clean, _, w, h, _, err := PrepareImage(&in, ImageLimits{FitSide: tc.fit})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(clean))
			if err != nil || w != tc.wantW || h != tc.wantH || cfg.Width != w || cfg.Height != h {
				t.Fatalf("got %d×%d (encoded %d×%d, %v), want %d×%d", w, h, cfg.Width, cfg.Height, err, tc.wantW, tc.wantH)
			}
		})
	}
}
