package query

// dedupTable finds the filterEntry of a filter by its hash: an open-addressing table of pointers
// (linear probing, deletion by backward shift), about 14 bytes per entry.
type dedupTable struct {
	slots []*filterEntry
	n     int
}

func (t *dedupTable) find(h uint64, same func(*filterEntry) bool) *filterEntry {
	if len(t.slots) == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		fe := t.slots[i]
		if fe == nil {
			return nil
		}
		if fe.hash == h && same(fe) {
			return fe
		}
	}
}

func (t *dedupTable) insert(fe *filterEntry) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(max(16, len(t.slots)*2))
	}
	t.put(fe)
	t.n++
}

func (t *dedupTable) put(fe *filterEntry) {
	mask := uint64(len(t.slots) - 1)
	i := fe.hash & mask
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = fe
}

func (t *dedupTable) resize(n int) {
	old := t.slots
	t.slots = make([]*filterEntry, n)
	for _, fe := range old {
		if fe != nil {
			t.put(fe)
		}
	}
}

func (t *dedupTable) remove(fe *filterEntry) {
	mask := uint64(len(t.slots) - 1)
	i := fe.hash & mask
	for t.slots[i] != fe {
		if t.slots[i] == nil {
			return
		}
		i = (i + 1) & mask
	}
	// Backward-shift the following entries of the cluster into the hole.
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		home := t.slots[j].hash & mask
		// Move slots[j] to i when i lies cyclically in [home, j).
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = nil
	t.n--
	if len(t.slots) > 16 && t.n*8 < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
}
