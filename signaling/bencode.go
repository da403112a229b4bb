package signaling

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// The HTTP tracker's replies are bencoded (BEP 3). The few shapes it sends
// need only this much of the format: integers, byte strings, lists, and
// dictionaries with their keys in sorted order.

// bdict is a bencoded dictionary. Its keys are written sorted as raw byte
// strings, as BEP 3 requires, whatever order they were set in.
type bdict map[string]any

// blist is a bencoded list.
type blist []any

// appendBencode appends v bencoded to b. v is an int, a string, a []byte, a
// blist or a bdict, and so is every value inside it; any other type is a
// bug of this package and panics.
func appendBencode(b []byte, v any) []byte {
	switch v := v.(type) {
	case int:
		b = append(b, 'i')
		b = strconv.AppendInt(b, int64(v), 10)
		return append(b, 'e')
	case string:
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		return append(b, v...)
	case []byte:
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		return append(b, v...)
	case blist:
		b = append(b, 'l')
		for _, e := range v {
			b = appendBencode(b, e)
		}
		return append(b, 'e')
	case bdict:
		b = append(b, 'd')
		for _, k := range slices.Sorted(maps.Keys(v)) {
			b = appendBencode(b, k)
			b = appendBencode(b, v[k])
		}
		return append(b, 'e')
	}
	panic(fmt.Sprintf("signaling: cannot bencode a %T", v))
}
