package mio

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a FHIR date with optional month and day (0 = absent).
type Date struct {
	Year, Month, Day int
}

// IsZero reports an absent date.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// String renders YYYY, YYYY-MM or YYYY-MM-DD.
func (d Date) String() string {
	switch {
	case d.IsZero():
		return ""
	case d.Month == 0:
		return fmt.Sprintf("%04d", d.Year)
	case d.Day == 0:
		return fmt.Sprintf("%04d-%02d", d.Year, d.Month)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// valid checks the calendar.
func (d Date) valid() bool {
	if d.Year < 1900 || d.Year > 9999 || d.Month < 0 || d.Month > 12 || d.Day < 0 {
		return false
	}
	if d.Month == 0 {
		return d.Day == 0
	}
	if d.Day == 0 {
		return true
	}
	t := time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
	return t.Day() == d.Day
}

// ParseDate parses YYYY, YYYY-MM or YYYY-MM-DD (the calendar is checked by
// Validate).
func ParseDate(s string) (Date, error) {
	bad := errors.New("mio: invalid date")
	parts := strings.Split(s, "-")
	if len(parts) > 3 || len(parts[0]) != 4 {
		return Date{}, bad
	}
	var v [3]int
	for i, p := range parts {
		if (i > 0 && len(p) != 2) || strings.TrimLeft(p, "0123456789") != "" {
			return Date{}, bad
		}
		v[i], _ = strconv.Atoi(p)
	}
	return Date{v[0], v[1], v[2]}, nil
}

// MarshalJSON writes the date string.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads YYYY, YYYY-MM or YYYY-MM-DD.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes a time string or {"start","end"}.
func (t Timing) MarshalJSON() ([]byte, error) {
	if t.Period != nil {
		return json.Marshal(t.Period)
	}
	return json.Marshal(t.At)
}

// UnmarshalJSON reads a time string or {"start","end"}.
func (t *Timing) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var p Period
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return err
		}
		*t = Timing{Period: &p}
		return nil
	}
	var at time.Time
	if err := json.Unmarshal(b, &at); err != nil {
		return err
	}
	*t = Timing{At: at}
	return nil
}

// MarshalJSON writes "patient", "diga" or {"device": id}.
func (a Actor) MarshalJSON() ([]byte, error) {
	if a.Kind == ActorDevice {
		return json.Marshal(map[string]string{"device": a.Device})
	}
	k := a.Kind
	if k == "" {
		k = ActorPatient
	}
	return json.Marshal(string(k))
}

// UnmarshalJSON reads "patient", "diga" or {"device": id}.
func (a *Actor) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			Device string `json:"device"`
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*a = Actor{Kind: ActorDevice, Device: v.Device}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	switch ActorKind(s) {
	case ActorPatient, ActorDiGA:
		*a = Actor{Kind: ActorKind(s)}
		return nil
	}
	return errors.New("mio: unknown actor")
}

// IsZero reports the default actor.
func (a Actor) IsZero() bool { return a.Kind == "" && a.Device == "" }
