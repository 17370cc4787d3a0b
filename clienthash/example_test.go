package clienthash_test

import (
	"fmt"

	"github.com/gatehouse/gatehouse/clienthash"
)

// An application that logs a user in derives the password parameter from
// the prelogin answer.
func ExampleLoginPassword() {
	params := clienthash.LoginParams{KDF: "pbkdf2-sha256", Iterations: 600000, Salt: "AAECAwQFBgcICQoLDA0ODw"}
	wire, err := clienthash.LoginPassword("correct horse battery staple", params)
	if err != nil {
		panic(err)
	}
	fmt.Println(wire)
	// Output: 7xdxRO7JQgy8EJPSqLNEqSvFBtDU7JwCjdGfgyTYweY
}

// A client authenticates with W, derived from its secret S.
func ExampleWireSecret() {
	w, err := clienthash.WireSecret("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "reports-app")
	if err != nil {
		panic(err)
	}
	fmt.Println(w)
	// Output: kpi3H-dmaNlROu5ysrjrJ1RLX9d3Xmcj0qerl-E--X0
}
