package query

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Frame types. Requests go from client to engine, responses back. Each frame
// is one JSON object on one line.
const (
	frameConfig = "config" // request: the Config, first frame only
	frameQuery  = "query"  // request: one statement, with a query id
	frameCancel = "cancel" // request: interrupt the query with this id
	frameReady  = "ready"  // response to config; Error set when setup failed
	frameRow    = "row"    // response: one result row as a JSON object
	frameDone   = "done"   // response: the query's stats and its Error, if any
)

// maxRequestFrame bounds a request line read by the engine. A config frame
// lists every granted file, so it is the largest.
const maxRequestFrame = 16 << 20

type request struct {
	Type   string  `json:"type"`
	ID     uint64  `json:"id,omitempty"`
	SQL    string  `json:"sql,omitempty"`
	Config *Config `json:"config,omitempty"`
}

type response struct {
	Type  string          `json:"type"`
	ID    uint64          `json:"id,omitempty"`
	Row   json.RawMessage `json:"row,omitempty"`
	Rows  int64           `json:"rows,omitempty"`
	Bytes int64           `json:"bytes,omitempty"`
	Error *Error          `json:"error,omitempty"`
}

// writeFrame writes v as one JSON line.
func writeFrame(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	data = append(data, '\n')
	_, err = w.Write(data)
	return err
}

// appendRowFrame writes a row frame by hand: json.Marshal would compact and
// HTML-escape the row and so change its size after MaxBytes was checked.
func appendRowFrame(w *bufio.Writer, id uint64, row []byte) error {
	_, _ = w.WriteString(`{"type":"row","id":`)
	_, _ = w.WriteString(strconv.FormatUint(id, 10))
	_, _ = w.WriteString(`,"row":`)
	_, _ = w.Write(row)
	_, err := w.WriteString("}\n")
	return err
}

// errFrameTooLarge reports a line longer than the reader's limit.
var errFrameTooLarge = errors.New("frame exceeds the size limit")

// frameReader reads newline-terminated frames of at most limit bytes.
type frameReader struct {
	r *bufio.Reader
}

func newFrameReader(r io.Reader, limit int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, limit+1)}
}

// next returns the next line without its newline. The slice is valid until
// the next call. It returns io.EOF at a clean end of input.
func (f *frameReader) next() ([]byte, error) {
	line, err := f.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, errFrameTooLarge
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return line[:len(line)-1], nil
}
