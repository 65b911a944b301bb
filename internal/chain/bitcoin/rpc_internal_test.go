package bitcoin

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/cointrail/cointrail/internal/fault"
)

// FuzzRPCResponse feeds arbitrary bodies and statuses to the JSON-RPC
// response decoding: no panic; a result only for HTTP 200, and then valid
// JSON; every failure an *RPCError or a coded *fault.Error.
func FuzzRPCResponse(f *testing.F) {
	const id = 7
	seeds := []struct {
		status int
		body   string
	}{
		{200, `{"result":500000,"error":null,"id":7}`},
		{200, `{"result":"000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f","error":null,"id":7}`},
		{200, `{"result":"0100000000000000","error":null,"id":7}`},
		{500, `{"result":null,"error":{"code":-5,"message":"Block not found"},"id":7}`},
		{404, `{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":7}`},
		{200, `{"result":null,"error":{"code":-32602,"message":"invalid params"},"id":7}`},
		{200, `{"result":1,"error":"text","id":7}`},
		{200, `{"result":1,"error":null,"id":8}`},
		{200, `{"result":1,"error":null,"id":"7"}`},
		{200, `{"result":{"hash":"00","tx":[]},"error":null,"id":7} {}`},
		{401, ``},
		{403, `Forbidden`},
		{502, `<html>Bad Gateway</html>`},
		{200, `not json`},
		{200, ``},
		{200, `null`},
		{200, `[]`},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		res, err := decodeResponse("getblock", status, body, id)
		if err == nil {
			if status != http.StatusOK {
				t.Fatalf("result for HTTP %d", status)
			}
			if !json.Valid(res) {
				t.Fatalf("result %q is not JSON", res)
			}
			var s string
			_ = json.Unmarshal(res, &s)
			return
		}
		var re *RPCError
		var fe *fault.Error
		if !errors.As(err, &re) && !(errors.As(err, &fe) && fe.Code != "") {
			t.Fatalf("error %v is neither a node error nor a coded fault", err)
		}
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
