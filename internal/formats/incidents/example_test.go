package incidents_test

import (
	"fmt"
	"strings"

	"github.com/cointrail/cointrail/internal/formats/incidents"
)

func ExampleParse() {
	csv := "date,title,targets,entity_types,attack_types,tags,loss_usd,source\n" +
		"2023-06-02,Atomic Wallet Suffers Over $100 Million Security Breach,Atomic Wallet,Wallet,Wallet Hack,North Korea; Lazarus Group,100000000,https://example.org/atomic\n"
	res, err := incidents.Parse(strings.NewReader(csv), incidents.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range res.Objects {
		fmt.Println(o.Type, o.String("name")+o.String("relationship_type"))
		if losses, occurred := o.IncidentLosses(); len(losses) > 0 {
			fmt.Println("  lost", losses[0].USD, "USD on", occurred)
		}
	}
	// Output:
	// identity example.org
	// identity Atomic Wallet
	// location North Korea
	// threat-actor Lazarus Group
	// relationship located-at
	// incident Atomic Wallet Suffers Over $100 Million Security Breach
	//   lost 100000000.00 USD on 2023-06-02T00:00:00.000Z
	// relationship targets
	// relationship attributed-to
}
