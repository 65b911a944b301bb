package tagpack_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/cointrail/cointrail/internal/formats/tagpack"
	"github.com/cointrail/cointrail/internal/stix"
)

func ExampleParse() {
	pack := `title: Lazarus addresses
creator: Example Team
lastmod: 2022-04-15
label: Lazarus group
category: user
abuse: sanction
actor: lazarusgroup
confidence: authority_data
source: https://example.org/advisory
tags:
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
  currency: BTC
- address: 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYaX
  currency: BTC
`
	res, err := tagpack.Parse(strings.NewReader(pack), tagpack.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range res.Objects {
		switch o.Type {
		case stix.TypeCryptocurrencyWallet:
			fmt.Println("wallet", o.String("chain"), o.String("value"))
		case "relationship":
			if l, ok := o.WalletLabel(); ok {
				fmt.Println("label", l.Category, l.Abuse, string(o.Raw("confidence")))
			} else {
				fmt.Println(o.String("relationship_type"))
			}
		default:
			fmt.Println(o.Type, o.String("name"))
		}
	}
	fmt.Println("skipped", res.Skipped[0].Value)
	// Output:
	// identity Example Team
	// wallet bitcoin 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
	// identity Lazarus group
	// label user sanction 60
	// indicator sanction: bitcoin address 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak
	// threat-actor lazarusgroup
	// uses
	// skipped 134r8iHv69xdT6p5qVKTsHrcUEuBVZAYaX
}

func ExampleWrite() {
	pack := "title: t\ncreator: Example Team\nlastmod: 2022-08-10\ncategory: mixing_service\nlabel: tornado.cash\ncurrency: ETH\ntags:\n- address: '0x8589427373d6d84e98730d7795d8f6f8731fda16'\n"
	res, _ := tagpack.Parse(strings.NewReader(pack), tagpack.Options{})
	if err := tagpack.Write(os.Stdout, res.Objects...); err != nil {
		fmt.Println(err)
	}
	// Output:
	// title: Wallet labels exported from cointrail
	// creator: Example Team
	// currency: ETH
	// label: tornado.cash
	// category: mixing_service
	// lastmod: 2022-08-10
	// tags:
	//   - address: '0x8589427373D6D84E98730D7795D8f6f8731FDA16'
}
