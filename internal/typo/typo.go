// Package typo finds the known name a mistyped one was probably meant to be, for "did you mean"
// hints in configuration and validation errors.
package typo

import "strings"

// Closest returns the candidate closest to name (case-insensitive edit distance) if it is close
// enough to be a typo of it: at most 1 edit for names of up to 3 bytes, 2 up to 8, 3 beyond. It
// returns "" when none is, and for names over 64 bytes (no hint is worth quadratic work).
func Closest(name string, candidates []string) string {
	if len(name) > 64 {
		return ""
	}
	lower := strings.ToLower(name)
	best, bestDist := "", 0
	for _, c := range candidates {
		d := editDistance(lower, strings.ToLower(c))
		if d <= maxTypos(c) && (best == "" || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// maxTypos is how many edits still count as a typo of name.
func maxTypos(name string) int {
	switch {
	case len(name) <= 3:
		return 1
	case len(name) <= 8:
		return 2
	default:
		return 3
	}
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
