// Package assets holds the app's bundled files as bytes (go:embed): the
// icon. It imports no GUI toolkit; ui wraps the bytes as Fyne resources
// (ui.Icon).
package assets

import _ "embed"

// IconPNG is the app icon, a PNG image (the file FyneApp.toml names).
//
//go:embed icon.png
var IconPNG []byte
