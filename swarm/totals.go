package swarm

// Totals returns the figures of each transport over every torrent: the
// peers connected now, and the payload bytes moved since Run started,
// those of removed torrents included, so that the byte counts only grow.
// A conn's bytes may be missing for a moment after it closes, until they
// are counted as the torrent's (closedConns); a reader that needs counts
// that never go down keeps the highest it has seen.
func (s *Swarm) Totals() map[string]TransportStats {
	out := make(map[string]TransportStats)
	for _, name := range transports {
		out[name] = TransportStats{}
	}
	s.mu.Lock()
	for name, ts := range s.retired {
		out[name] = ts
	}
	s.mu.Unlock()
	for _, t := range s.Torrents() {
		for name, ts := range t.Stats().Transports {
			sum := out[name]
			sum.Peers += ts.Peers
			sum.BytesIn += ts.BytesIn
			sum.BytesOut += ts.BytesOut
			out[name] = sum
		}
	}
	return out
}

// HashFailures returns the number of pieces that peers sent in whole and
// that then failed verification, over every torrent since Run started:
// anacrolix's PiecesDirtiedBad of the client, which counts each failed
// piece once however many peers sent parts of it. A piece that fails for
// a storage error is not counted. It is 0 while the client is not
// running.
func (s *Swarm) HashFailures() int64 {
	cl, _, err := s.client()
	if err != nil {
		return 0
	}
	cs := cl.ConnStats()
	return cs.PiecesDirtiedBad.Int64()
}
