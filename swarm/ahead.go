package swarm

import "github.com/anacrolix/torrent"

// Ahead returns how many bytes of file i, from byte off of it on, the node
// holds verified without a gap: what a reader at off reads without
// waiting for a peer. It is 0 until the info is known, and for a file
// index or offset out of range.
func (t *Torrent) Ahead(i int, off int64) int64 {
	if !t.haveInfo() {
		return 0
	}
	files := t.t.Files()
	if i < 0 || i >= len(files) || off < 0 || off >= files[i].Length() {
		return 0
	}
	f := files[i]
	// One read of the client's state for every piece, in runs, rather
	// than a lock per piece: a film of 4 GiB has 4096 pieces.
	return aheadInRuns(t.t.PieceStateRuns(), t.t.Info().PieceLength, f.Offset()+off, f.Offset()+f.Length())
}

// aheadInRuns returns how many bytes from torrent offset from to offset
// end lie in verified pieces without a gap, the pieces' states given as
// runs of pieceLen-byte pieces.
func aheadInRuns(runs torrent.PieceStateRuns, pieceLen, from, end int64) int64 {
	if pieceLen <= 0 || from >= end {
		return 0
	}
	first := from / pieceLen
	var piece int64 // index of the first piece of the run
	for _, r := range runs {
		next := piece + int64(r.Length)
		if next <= first {
			piece = next
			continue
		}
		if !r.Complete {
			break
		}
		if next*pieceLen >= end {
			return end - from
		}
		piece = next
	}
	return max(0, min(piece*pieceLen, end)-from)
}
