package awstest

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"time"
)

// Namespaces of the two Query APIs and their API versions.
const (
	svcIAM     = "iam"
	svcSTS     = "sts"
	iamVersion = "2010-05-08"
	stsVersion = "2011-06-15"
	iamNS      = "https://iam.amazonaws.com/doc/" + iamVersion + "/"
	stsNS      = "https://sts.amazonaws.com/doc/" + stsVersion + "/"
)

func namespace(svc string) string {
	if svc == svcSTS {
		return stsNS
	}
	return iamNS
}

// members is a Query-protocol list: <Wrapper><member>…</member>…</Wrapper>.
// As a non-pointer field the wrapper is always written, even when empty, as
// AWS does for the lists of List* results.
type members[T any] struct {
	Member []T `xml:"member"`
}

func list[T any](v []T) members[T] { return members[T]{Member: v} }

// awsTime formats a timestamp as IAM does (ISO 8601, UTC, seconds).
func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlBoundary struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

func boundaryXML(arn string) *xmlBoundary {
	if arn == "" {
		return nil
	}
	return &xmlBoundary{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: arn}
}

func tagsXML(tags []Tag) *members[xmlTag] {
	if len(tags) == 0 {
		return nil
	}
	m := &members[xmlTag]{}
	for _, t := range tags {
		m.Member = append(m.Member, xmlTag(t))
	}
	return m
}

// pageXML is the IsTruncated/Marker pair of every paginated result.
type pageXML struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

// writeResult writes a successful Query answer. result, if not nil, is
// encoded as <{action}Result>; actions without output get only the
// ResponseMetadata, as AWS answers them.
func writeResult(w http.ResponseWriter, svc, action, requestID string, result any) {
	var buf bytes.Buffer
	buf.WriteString(`<` + action + `Response xmlns="` + namespace(svc) + `">`)
	if result != nil {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeError(w, svc, requestID, errServerFault(svc))
			return
		}
		_ = enc.Flush()
	}
	buf.WriteString(`<ResponseMetadata><RequestId>` + requestID + `</RequestId></ResponseMetadata>`)
	buf.WriteString(`</` + action + `Response>`)
	writeXML(w, http.StatusOK, requestID, buf.Bytes())
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeError writes an AWS Query error answer with its HTTP status.
func writeError(w http.ResponseWriter, svc, requestID string, e *apiError) {
	body, err := xml.Marshal(xmlErrorResponse{
		Xmlns:     namespace(svc),
		Error:     xmlError{Type: e.errType(), Code: e.code, Message: e.message},
		RequestID: requestID,
	})
	if err != nil {
		body = []byte("<ErrorResponse/>")
	}
	writeXML(w, e.status, requestID, body)
}

func writeXML(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
