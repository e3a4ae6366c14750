package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// TestRequestPublishesAnEvent: a third party's request reaches the asked
// user's subscribers at once, naming who asks and for what (issue 15 §9).
func TestRequestPublishesAnEvent(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	ada := registerUser(t, env, "Ada Lovelace", "ada@example.org")
	bob := registerUser(t, env, "Bob", "bob@example.org")
	evA, stopA := env.App.Subscribe(ada.UserID)
	defer stopA()
	evB, stopB := env.App.Subscribe(bob.UserID)
	defer stopB()
	if _, _, err := env.App.NewRequest(ctx, "192.0.2.1", "bar.example", "email", "", ada.ProfileID); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-evA:
		if ev.Kind != app.EventRequest || ev.ServiceID != "bar.example" || ev.InfoField != "email" || ev.RequestID == "" || ev.UserID != ada.UserID {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	select {
	case ev := <-evB:
		t.Fatalf("bob got %+v", ev)
	default:
	}
	// A refused request (not shareable) publishes nothing.
	if _, _, err := env.App.NewRequest(ctx, "192.0.2.1", "bar.example", "no way", "", ada.ProfileID); err == nil {
		t.Fatal("accepted")
	}
	select {
	case ev := <-evA:
		t.Fatalf("refused request published %+v", ev)
	default:
	}
}
