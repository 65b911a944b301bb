package ofac_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/cointrail/cointrail/internal/formats/ofac"
)

func ExampleParse() {
	// One row of the legacy sdn.csv, its remark cut in the middle of the
	// second address.
	sdn := `27307,"LAZARUS GROUP",-0- ,"DPRK3",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"Digital Currency Address - ETH 0x098B716B8Aaf21512996dC57EB0615e2383E2f96; alt. Digital Currency Address - XBT 1Gq; a.k.a. 'HIDDEN COBRA'."` + "\r\n"
	res, err := ofac.Parse(strings.NewReader(sdn), ofac.Options{ListDate: time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range res.Objects {
		fmt.Println(o.Type, o.String("name")+o.String("value")+o.String("relationship_type"))
	}
	fmt.Println("skipped:", res.Skipped[0].Value)
	// Output:
	// identity US Department of the Treasury, Office of Foreign Assets Control (OFAC)
	// threat-actor LAZARUS GROUP
	// cryptocurrency-wallet 0x098b716b8aaf21512996dc57eb0615e2383e2f96
	// relationship uses
	// indicator OFAC SDN: ETH address of LAZARUS GROUP
	// skipped: 1Gq
}
