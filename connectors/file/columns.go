package file

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// CSV field names of the members stream, besides identity columns.
var memberFields = []string{"id", "name", "gender", "birthday", "city", "province", "country", "level", "points", "tags", "updated_at"}

// CSV field names of the orders stream, besides the buyer's identity columns.
// Amounts (total, paid, discount, unit_price) are in yuan.
var orderFields = []string{"id", "platform", "shop", "order_id", "status", "total", "paid", "discount", "created_at", "paid_at", "updated_at", "region", "sku", "title", "quantity", "unit_price"}

// column is one mapped CSV field.
type column struct {
	field  string
	header string
	// id is the identity template (type and scope) of an identity column.
	id *mapping.Identity
}

// columnSpec is the configured column mapping of a connection.
type columnSpec struct {
	stream string
	scope  string
	// cols are the configured columns; nil means headers are field names.
	cols []column
}

// newColumnSpec validates the columns config field.
func newColumnSpec(stream, scope string, pairs []string) (columnSpec, error) {
	cs := columnSpec{stream: stream, scope: scope}
	seen := map[string]bool{}
	for _, p := range pairs {
		field, header, ok := strings.Cut(p, "=")
		field, header = strings.TrimSpace(field), strings.TrimSpace(header)
		if !ok || field == "" || header == "" {
			return cs, sdk.ConfigError(FieldColumns, "%q: want field=Header Name", p)
		}
		id, err := cs.field(field)
		if err != nil {
			return cs, sdk.ConfigError(FieldColumns, "%q: %v", p, err)
		}
		if seen[field] {
			return cs, sdk.ConfigError(FieldColumns, "field %q is mapped twice", field)
		}
		seen[field] = true
		cs.cols = append(cs.cols, column{field: field, header: header, id: id})
	}
	return cs, nil
}

// fields are the stream's non-identity field names.
func (cs columnSpec) fields() []string {
	if cs.stream == StreamOrders {
		return orderFields
	}
	return memberFields
}

// field checks a field name: one of the stream's fields, or an identity
// column — phone, email, member_card (scope from the scope field), or
// TYPE:SCOPE such as wechat_unionid:open-1 — whose template it returns.
func (cs columnSpec) field(name string) (*mapping.Identity, error) {
	if slices.Contains(cs.fields(), name) {
		return nil, nil
	}
	typ, scope, hasScope := strings.Cut(name, ":")
	t := mapping.IdentityType(typ)
	if !mapping.KnownIdentityType(t) {
		return nil, fmt.Errorf("%q is not a %s field (want one of %s, or an identity column: phone, email, member_card, or TYPE:SCOPE)", name, cs.stream, strings.Join(cs.fields(), ", "))
	}
	switch {
	case !t.Scoped() && hasScope:
		return nil, fmt.Errorf("identity type %q takes no scope", typ)
	case t == mapping.IDMemberCard && !hasScope:
		scope = cs.scope
	case t.Scoped() && scope == "":
		return nil, fmt.Errorf("identity type %q needs a scope: write %s:SCOPE", typ, typ)
	}
	return &mapping.Identity{Type: t, Scope: scope}, nil
}

// binding maps a file's columns to fields.
type binding struct {
	// width is the header's column count: every row must have as many.
	width int
	at    map[string]int
	ids   []idColumn
}

type idColumn struct {
	id    mapping.Identity
	index int
}

// bind maps a file's header to the configured fields. A configured header
// missing from the file is an error, as is a header that maps no identity
// (members) or no order_id and status (orders).
func (cs columnSpec) bind(path string, header []string) (*binding, error) {
	for i, h := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
	}
	b := &binding{width: len(header), at: map[string]int{}}
	add := func(c column, i int) {
		if c.id != nil {
			b.ids = append(b.ids, idColumn{id: *c.id, index: i})
		} else {
			b.at[c.field] = i
		}
	}
	if cs.cols == nil {
		for i, h := range header {
			name := h
			id, err := cs.field(name)
			if err != nil && strings.ToLower(h) != h {
				name = strings.ToLower(h)
				id, err = cs.field(name)
			}
			if err != nil {
				continue // not a field: ignored
			}
			if _, dup := b.at[name]; dup && id == nil {
				continue // the first of two equal headers wins
			}
			add(column{field: name, header: h, id: id}, i)
		}
	} else {
		for _, c := range cs.cols {
			i := slices.Index(header, c.header)
			if i < 0 {
				i = slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(h, c.header) })
			}
			if i < 0 {
				return nil, sdk.ConfigError(FieldColumns, "%s has no column %q (for field %s); its headers are %q", path, c.header, c.field, header)
			}
			add(c, i)
		}
	}
	switch cs.stream {
	case StreamMembers:
		if len(b.ids) == 0 {
			return nil, sdk.ConfigError(FieldColumns, "%s: no column maps an identity (phone, email, member_card or TYPE:SCOPE); its headers are %q", path, header)
		}
	case StreamOrders:
		for _, f := range []string{"order_id", "status"} {
			if _, ok := b.at[f]; !ok {
				return nil, sdk.ConfigError(FieldColumns, "%s: no column maps the order field %s; its headers are %q", path, f, header)
			}
		}
	}
	return b, nil
}

// row is one CSV record under a binding.
type row struct {
	b      *binding
	fields []string
}

// get returns a field's trimmed value, or "" when it is not mapped.
func (r row) get(field string) string {
	i, ok := r.b.at[field]
	if !ok {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// identities returns the identity columns that hold a value.
func (r row) identities() []mapping.Identity {
	var out []mapping.Identity
	for _, c := range r.b.ids {
		if v := strings.TrimSpace(r.fields[c.index]); v != "" {
			id := c.id
			id.Value = v
			out = append(out, id)
		}
	}
	return out
}

// parseCSV splits one CSV record.
func parseCSV(text string) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	fields, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		return nil, fmt.Errorf("malformed CSV at column %d: %w", pe.Column, pe.Err)
	case err != nil:
		return nil, fmt.Errorf("malformed CSV: %w", err)
	}
	return fields, nil
}

// parseRow splits a CSV record and checks its width.
func (b *binding) parseRow(text string) (row, error) {
	fields, err := parseCSV(text)
	if err != nil {
		return row{}, err
	}
	if len(fields) != b.width {
		return row{}, fmt.Errorf("row has %d columns, the header %d", len(fields), b.width)
	}
	return row{b: b, fields: fields}, nil
}
