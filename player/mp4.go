package player

import (
	"encoding/binary"
	"errors"
	"io"
	"time"
)

// maxHeadBytes bounds how much of a file mp4Duration reads: a faststart
// MP4 has its moov box within the first megabyte or so.
const maxHeadBytes = 2 << 20

var errNoDuration = errors.New("player: no mvhd box in the head of the file")

// mp4Duration reads the movie header (moov/mvhd) of an MP4 or MOV from its
// first maxHeadBytes and returns the movie's duration. It reads untrusted
// bytes: every size is checked against what is left.
func mp4Duration(r io.Reader) (time.Duration, error) {
	d, _, err := mp4Head(r)
	return d, err
}

// mp4Head is mp4Duration that also returns where the moov box ends: a
// player needs the file up to there before its first frame.
func mp4Head(r io.Reader) (d time.Duration, moovEnd int64, err error) {
	head, err := io.ReadAll(io.LimitReader(r, maxHeadBytes))
	if err != nil {
		return 0, 0, err
	}
	moov, end, ok := findBoxEnd(head, "moov")
	if !ok {
		return 0, 0, errNoDuration
	}
	d, err = mvhdDuration(moov)
	return d, int64(end), err
}

// mvhdDuration reads the duration in the movie header of a moov box's
// payload.
func mvhdDuration(moov []byte) (time.Duration, error) {
	mvhd, ok := findBox(moov, "mvhd")
	if !ok || len(mvhd) < 4 {
		return 0, errNoDuration
	}
	var timescale, duration uint64
	switch mvhd[0] { // version
	case 0:
		if len(mvhd) < 20 {
			return 0, errNoDuration
		}
		timescale = uint64(binary.BigEndian.Uint32(mvhd[12:]))
		duration = uint64(binary.BigEndian.Uint32(mvhd[16:]))
	case 1:
		if len(mvhd) < 32 {
			return 0, errNoDuration
		}
		timescale = uint64(binary.BigEndian.Uint32(mvhd[20:]))
		duration = binary.BigEndian.Uint64(mvhd[24:])
	default:
		return 0, errNoDuration
	}
	if timescale == 0 || duration/timescale > uint64(1000*time.Hour/time.Second) {
		return 0, errNoDuration
	}
	// Whole seconds and the rest apart: duration×1e9 overflows for a
	// 64-bit duration, and the rest (< timescale < 2³²) times 1e9 does not.
	secs, rest := duration/timescale, duration%timescale
	d := time.Duration(secs)*time.Second + time.Duration(rest*uint64(time.Second)/timescale)
	if d <= 0 {
		return 0, errNoDuration
	}
	return d, nil
}

// findBox returns the payload of the first box of type typ among the boxes
// that b holds, as far as b goes.
func findBox(b []byte, typ string) ([]byte, bool) {
	payload, _, ok := findBoxEnd(b, typ)
	return payload, ok
}

// findBoxEnd is findBox that also returns the offset in b where the box
// ends, as far as b goes.
func findBoxEnd(b []byte, typ string) ([]byte, int, bool) {
	off := 0
	for len(b) >= 8 {
		size := uint64(binary.BigEndian.Uint32(b))
		hdr := uint64(8)
		switch size {
		case 0: // to the end of the file
			size = uint64(len(b))
		case 1: // 64-bit size
			if len(b) < 16 {
				return nil, 0, false
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr {
			return nil, 0, false
		}
		if string(b[4:8]) == typ {
			end := min(size, uint64(len(b)))
			return b[hdr:end], off + int(end), true
		}
		if size >= uint64(len(b)) {
			return nil, 0, false
		}
		b = b[size:]
		off += int(size)
	}
	return nil, 0, false
}
