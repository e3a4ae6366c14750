package ui

// The app icon, wrapped as a Fyne resource.

import (
	"fyne.io/fyne/v2"

	"github.com/secure-personal-profile/spp/assets"
)

// Icon is the app icon as a Fyne resource (assets holds its bytes).
var Icon fyne.Resource = fyne.NewStaticResource("icon.png", assets.IconPNG)
