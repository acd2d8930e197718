package ncloudtest

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
)

// page computes the slice bounds of page number pageNo (0-based) of size
// size over n items, and the total page count.
func page(n, pageNo, size int) (start, end, totalPages int) {
	totalPages = (n + size - 1) / size
	start = pageNo * size
	if start > n {
		start = n
	}
	end = start + size
	if end > n {
		end = n
	}
	return start, end, totalPages
}

// intParam reads an optional integer query parameter with a lower and an
// optional upper (0 = none) bound.
func intParam(q url.Values, name string, def, lo, hi int) (int, *opError) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || (hi > 0 && n > hi) {
		msg := name + " must be an integer >= " + strconv.Itoa(lo)
		if hi > 0 {
			msg += " and <= " + strconv.Itoa(hi)
		}
		return 0, validation(name, msg)
	}
	return n, nil
}

// decodeBody decodes a JSON request body into v; an empty body is an error.
func decodeBody(body []byte, v any) *opError {
	if len(bytes.TrimSpace(body)) == 0 {
		return validation("body", "a JSON request body is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return validation("body", "the request body is not valid JSON for this API")
	}
	return nil
}

// isUUID reports whether id has the 8-4-4-4-12 hex form of sub account and
// policy ids.
func isUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
