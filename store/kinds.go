package store

// Kinds lists the entity kinds of the user that have at least one live
// field, in order.
func (t *tx) Kinds() ([]string, error) {
	rows, err := t.sql.QueryContext(t.ctx, `SELECT DISTINCT entity FROM cells WHERE user_id = ? AND deleted = 0 ORDER BY entity`, t.user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var kinds []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		kinds = append(kinds, k)
	}
	return kinds, rows.Err()
}
