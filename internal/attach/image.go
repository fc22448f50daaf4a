package attach

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"path"
	"strings"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/hushnet/hush/protocol/envelope"
)

// Errors returned by PrepareImage.
var (
	// ErrImageTooLarge: the image's header announces more pixels than
	// the limits allow; it was not decoded.
	ErrImageTooLarge = errors.New("attach: image dimensions too large")
	// ErrNotPhoto: the bytes are not a JPEG, PNG or WebP image this
	// client re-encodes (a GIF, which would lose its animation, or not an
	// image at all); send them as a file, untouched.
	ErrNotPhoto = errors.New("attach: not a photo this client re-encodes")
)

// ImageLimits bounds the images PrepareImage decodes. A zero field takes
// the default.
type ImageLimits struct {
	MaxSide   int // pixels on either side; default 8192
	MaxPixels int // width × height; default 40,000,000
	// FitSide, when above 0, scales a larger image down to fit
	// FitSide×FitSide (aspect ratio kept), as for a profile picture.
	FitSide int
}

const (
	defaultMaxSide   = 8192
	defaultMaxPixels = 40_000_000
	// ThumbnailSide is the longest side of a thumbnail, in pixels.
	ThumbnailSide = 160
	// photoQuality is the JPEG quality of a re-encoded photo: visually
	// close to a camera's output at a fraction of its size.
	photoQuality = 85
)

// PrepareImage reads a photo and returns it re-encoded without metadata:
// JPEG stays JPEG (quality 85), PNG stays PNG, WebP becomes JPEG. Decoding
// and encoding again keeps the pixels only, so EXIF (GPS position, camera,
// time), XMP, ICC and PNG text chunks are gone. A JPEG's EXIF orientation
// is applied to the pixels first, so the photo does not turn on its side.
// The dimensions are read from the header and checked against max before
// anything is decoded ([ErrImageTooLarge]: no decompression bomb). w and h
// are the clean image's; thumb is a JPEG of at most
// envelope.MaxThumbnailSize bytes whose longest side is at most
// ThumbnailSide. Anything but JPEG, PNG and WebP is [ErrNotPhoto].
func PrepareImage(r io.Reader, max ImageLimits) (clean []byte, mime string, w, h int, thumb []byte, err error) {
	if max.MaxSide <= 0 {
		max.MaxSide = defaultMaxSide
	}
	if max.MaxPixels <= 0 {
		max.MaxPixels = defaultMaxPixels
	}
	// The header is kept as it is read, then replayed in front of the
	// rest for the decoder; for a JPEG it holds the EXIF segment, which
	// comes before the frame header DecodeConfig stops at.
	var head bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return nil, "", 0, 0, nil, fmt.Errorf("%w: %v", ErrNotPhoto, err)
	}
	var decode func(io.Reader) (image.Image, error)
	switch format {
	case "jpeg":
		decode = jpeg.Decode
	case "png":
		decode = png.Decode
	case "webp":
		decode = webp.Decode
	default:
		return nil, "", 0, 0, nil, fmt.Errorf("%w: %s", ErrNotPhoto, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > max.MaxSide || cfg.Height > max.MaxSide ||
		int64(cfg.Width)*int64(cfg.Height) > int64(max.MaxPixels) {
		return nil, "", 0, 0, nil, fmt.Errorf("%w: %d×%d (at most %d a side, %d pixels)", ErrImageTooLarge, cfg.Width, cfg.Height, max.MaxSide, max.MaxPixels)
	}
	orientation := 1
	if format == "jpeg" {
		orientation = jpegOrientation(head.Bytes())
	}
	img, err := decode(io.MultiReader(bytes.NewReader(head.Bytes()), r))
	if err != nil {
		return nil, "", 0, 0, nil, fmt.Errorf("%w: %v", ErrNotPhoto, err)
	}
	img = orient(img, orientation)
	if b := img.Bounds(); max.FitSide > 0 && (b.Dx() > max.FitSide || b.Dy() > max.FitSide) {
		img = scale(img, max.FitSide)
	}
	var out bytes.Buffer
	switch format {
	case "png":
		mime = "image/png"
		err = png.Encode(&out, img)
	default:
		mime = "image/jpeg"
		err = jpeg.Encode(&out, opaque(img), &jpeg.Options{Quality: photoQuality})
	}
	if err != nil {
		return nil, "", 0, 0, nil, err
	}
	thumb, err = Thumbnail(img)
	if err != nil {
		return nil, "", 0, 0, nil, err
	}
	b := img.Bounds()
	return out.Bytes(), mime, b.Dx(), b.Dy(), thumb, nil
}

// Thumbnail returns img scaled to fit ThumbnailSide as a JPEG of at most
// envelope.MaxThumbnailSize bytes: quality is lowered until it fits, then
// the size, should even quality 10 not fit.
func Thumbnail(img image.Image) ([]byte, error) {
	side := ThumbnailSide
	for side >= 8 {
		small := scale(img, side)
		for q := 80; q >= 10; q -= 10 {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: q}); err != nil {
				return nil, err
			}
			if buf.Len() <= envelope.MaxThumbnailSize {
				return buf.Bytes(), nil
			}
		}
		side = side * 3 / 4
	}
	return nil, errors.New("attach: no thumbnail fits") // unreachable: 8×8 is a few hundred bytes
}

// scale fits img into side×side, keeping its aspect ratio, on white (a
// JPEG has no transparency).
func scale(img image.Image, side int) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > side || h > side {
		if w >= h {
			w, h = side, max(1, h*side/w)
		} else {
			w, h = max(1, w*side/h), side
		}
	}
	// Catmull-Rom reads every source pixel under its kernel, which for a
	// camera photo is most of the time spent here; a cheap bilinear pass
	// to four times the size first keeps its quality at a fraction of it.
	if bw, bh := b.Dx(), b.Dy(); max(bw, bh) > 8*side {
		mid := image.NewRGBA(image.Rect(0, 0, max(1, bw*4*side/max(bw, bh)), max(1, bh*4*side/max(bw, bh))))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), img, b, draw.Src, nil)
		img, b = mid, mid.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	return dst
}

// opaque returns img flattened onto white when it has transparency.
func opaque(img image.Image) image.Image {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return img
	}
	dst := image.NewRGBA(img.Bounds())
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, img.Bounds().Min, draw.Over)
	return dst
}

// orient applies an EXIF orientation (1–8, TIFF 6.0 tag 274) to img.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	W, H := b.Dx(), b.Dy()
	dw, dh := W, H
	if o >= 5 { // the four that swap the axes
		dw, dh = H, W
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = W-1-x, y
			case 3: // upside down
				sx, sy = W-1-x, H-1-y
			case 4: // mirrored upside down
				sx, sy = x, H-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // turned 90° clockwise to be upright
				sx, sy = y, H-1-x
			case 7: // transversed
				sx, sy = W-1-y, H-1-x
			case 8: // turned 90° counter-clockwise to be upright
				sx, sy = W-1-y, x
			}
			copy(dst.Pix[dst.PixOffset(x, y):][:4], src.Pix[src.PixOffset(sx, sy):][:4])
		}
	}
	return dst
}

// jpegOrientation finds the EXIF orientation in a JPEG's first segments,
// or 1 (upright) when there is none or it cannot be read. It walks the
// segments up to the first frame header, and in an APP1 "Exif" segment
// reads IFD0 of the TIFF structure for tag 0x0112 (TIFF 6.0 §8, Exif 2.32
// §4.6.4).
func jpegOrientation(b []byte) int {
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return 1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return 1
		}
		marker := b[i+1]
		if marker == 0xff { // fill byte
			i++
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		if marker == 0xda || marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc {
			return 1 // a frame or scan header: no EXIF before it
		}
		i += 2 + n
	}
	return 1
}

func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}

// SniffMIME names a file's type from its first bytes (up to 512 are used,
// by the WHATWG sniffing rules of net/http.DetectContentType), without
// parameters. Only when the bytes say no more than "binary", "text" or
// "zip" does the name's extension refine it, from a short built-in list
// (never the system's, so every client names a file alike), and only to a
// type of that same kind: a name never overrides what the bytes show.
func SniffMIME(head []byte, name string) string {
	mime, _, _ := strings.Cut(http.DetectContentType(head), ";")
	if t, ok := extensionTypes[strings.ToLower(path.Ext(name))]; ok && t.sniffed == mime {
		return t.mime
	}
	return mime
}

// extensionTypes are types byte sniffing cannot tell, with the generic
// type the bytes must sniff as for the extension to count.
var extensionTypes = map[string]struct{ mime, sniffed string }{
	".md":   {"text/markdown", "text/plain"},
	".csv":  {"text/csv", "text/plain"},
	".json": {"application/json", "text/plain"},
	".heic": {"image/heic", "application/octet-stream"},
	".heif": {"image/heif", "application/octet-stream"},
	".m4a":  {"audio/mp4", "application/octet-stream"},
	".aac":  {"audio/aac", "application/octet-stream"},
	".opus": {"audio/opus", "application/ogg"},
	".flac": {"audio/flac", "application/octet-stream"},
	".mov":  {"video/quicktime", "application/octet-stream"},
	".mkv":  {"video/x-matroska", "video/webm"},
	".docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"},
	".xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"},
	".pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "application/zip"},
	".odt":  {"application/vnd.oasis.opendocument.text", "application/zip"},
	".epub": {"application/epub+zip", "application/zip"},
	".apk":  {"application/vnd.android.package-archive", "application/zip"},
	".7z":   {"application/x-7z-compressed", "application/octet-stream"},
}
