package config

import (
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestKeyLines(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want map[string]int
	}{
		{name: "tables and arrays of tables", doc: "a = 1\n[http]\nlisten = \"x\" # a comment [\n\n[[modem]]\nid = \"a\"\n[[modem]]\n  id = 'b'\n",
			want: map[string]int{"a": 1, "http": 2, "http.listen": 3, "modem": 5, "modem[0]": 5, "modem[0].id": 6, "modem[1]": 7, "modem[1].id": 8}},
		{name: "multi-line array", doc: "[[modem]]\nroutes = [\n  \"+44\", # uk = 1\n  \"+49\",\n]\npin = \"1\"\n",
			want: map[string]int{"modem": 1, "modem[0]": 1, "modem[0].routes": 2, "modem[0].pin": 6}},
		{name: "multi-line strings", doc: "[store]\npath = \"\"\"\nfake = 1\n\"\"\"\nx = '''\ny = 2 '''\nz = \"a]\\\"\"\n",
			want: map[string]int{"store": 1, "store.path": 2, "store.x": 5, "store.z": 7}},
		{name: "dotted and quoted keys", doc: "http.listen = 1\n\"log\" . 'level' = 2\n[\"sms\"]\n\"max_parts\" = 3\n",
			want: map[string]int{"http.listen": 1, "log.level": 2, "sms": 3, "sms.max_parts": 4}},
		{name: "sub-table of an array element", doc: "[[modem]]\n[[modem]]\n[modem.extra]\nk = 1\n",
			want: map[string]int{"modem": 1, "modem[0]": 1, "modem[1]": 2, "modem[1].extra": 3, "modem[1].extra.k": 4}},
		{name: "multi-line string holding a key", doc: "[http]\nlisten = \"\"\"\nread_timeout = 5\n\"\"\"\nread_timeout = 5\n",
			want: map[string]int{"http": 1, "http.listen": 2, "http.read_timeout": 5}},
		{name: "quoted keys with escapes and =", doc: "\"a\\\"b\" = 1\n'c=d' = 2\n\" e \" = 3\n",
			want: map[string]int{"a\"b": 1, "c=d": 2, " e ": 3}},
		{name: "inline table", doc: "http = { listen = \"x\",\n}\nlog = {}\n",
			want: map[string]int{"http": 1, "log": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw map[string]any
			md, err := toml.Decode(tt.doc, &raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := keyLines(tt.doc, md); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}
