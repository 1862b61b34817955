package file

import "github.com/channelhub/channelhub/sdk"

// Config field names.
const (
	FieldPath     = "path"
	FieldFormat   = "format"
	FieldStream   = "stream"
	FieldEncoding = "encoding"
	FieldColumns  = "columns"
	FieldScope    = "scope"
)

// Stream names.
const (
	StreamMembers = "members"
	StreamOrders  = "orders"
)

// Formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// Encodings.
const (
	EncodingUTF8    = "utf-8"
	EncodingGB18030 = "gb18030"
)

// DefaultScope is the default scope of member_card identities given in CSV
// columns.
const DefaultScope = "brand"

// DefaultPlatform is the platform of orders that name none.
const DefaultPlatform = "offline"

// Spec describes the connector.
var Spec = sdk.Spec{
	Name:        "file",
	Version:     "0.1.0",
	Platform:    "file",
	Description: "Members or orders from exported files (offline stores, POS, ERP, an old CRM): JSON Lines or CSV, UTF-8 or GB18030, read incrementally by file and byte offset.",
	Streams: []sdk.StreamSpec{
		{Name: StreamMembers, Kind: sdk.KindMembers, Cursor: "offset", Sorted: true, Incremental: true,
			Description: "Members, one a line (JSON Lines) or a row (CSV), from every file the path matches, in file name order. The checkpoint is each file's byte offset: appended lines and new files are read on the next run; a replaced or truncated file is read again from the start. Readable only when the connection's stream field is members."},
		{Name: StreamOrders, Kind: sdk.KindOrders, Cursor: "offset", Sorted: true, Incremental: true,
			Description: "Orders, one a line or a row, read as the members stream is. Readable only when the connection's stream field is orders."},
	},
	Config: []sdk.Field{
		{Name: FieldPath, Type: sdk.TypeString, Required: true, Example: "/data/pos/members-*.csv",
			Description: "A file, or a glob of files (path/filepath.Match syntax), read in sorted name order. A glob that matches nothing reads nothing; Check reports it."},
		{Name: FieldFormat, Type: sdk.TypeString, Enum: []string{FormatJSONL, FormatCSV},
			Description: "File format; default from the path's extension (.jsonl, .ndjson → jsonl; .csv → csv)."},
		{Name: FieldStream, Type: sdk.TypeString, Default: StreamMembers, Enum: []string{StreamMembers, StreamOrders},
			Description: "What the files hold: members or orders. Only this stream can be read from the connection."},
		{Name: FieldEncoding, Type: sdk.TypeString, Default: EncodingUTF8, Enum: []string{EncodingUTF8, EncodingGB18030},
			Description: "Character encoding of the files; use gb18030 for GBK/GB2312 exports too. A leading byte order mark is skipped, and a file that starts with a UTF-8 one is read as UTF-8 whatever this says."},
		{Name: FieldColumns, Type: sdk.TypeStringList, Example: `["id=会员编号", "phone=手机号", "name=姓名", "member_card=卡号"]`,
			Description: "CSV only: the column mapping, as field=Header Name pairs (see the README for the field names). Default: the columns whose headers are field names."},
		{Name: FieldScope, Type: sdk.TypeString, Default: DefaultScope,
			Description: "Scope of the member_card identities given in CSV columns (the brand whose cards they are)."},
	},
}
