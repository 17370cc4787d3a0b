package clientauth

// ParseBasic exposes parseBasic to the fuzz targets of clientauth_test.
var ParseBasic = parseBasic
