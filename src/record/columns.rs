//! An event's payload as plain integer columns of `events` (schema
//! version 4 on) and back: a schema id from the `schemas` table and the
//! schema's fields, `NULL` where a schema has no such field. SQLite
//! stores each integer in as few bytes as it needs (none for 0 and 1, one
//! for a `NULL`), so a row costs a few dozen bytes where its JSON cost a
//! hundred, and every field stays queryable with `sqlite3`.
//!
//! The aggregate id (`order_id` of an order or a payment, `user_id` of a
//! user, `entity_id` of anything else) is the event's key: it is stored
//! in `aggregate_id` only when it differs from `key`, which it never does
//! in a run the engine made.
//!
//! Must not depend on `gui`, `cli` or `live`.

use crate::sim::Payload;

/// The `schemas` rows: id (the index) and the payload's `schema` name.
pub(super) const SCHEMA_NAMES: [&str; 4] = ["order", "user", "payment", "generic"];

/// The payload columns of `events`, in table order (after `schema_id`).
pub(super) const PAYLOAD_COLUMNS: [&str; 8] = [
    "aggregate_id",
    "user_id",
    "sku",
    "quantity",
    "amount_cents",
    "email_domain",
    "payment_id",
    "method",
];

/// One event's payload as column values: `schema_id`, then
/// [`PAYLOAD_COLUMNS`] in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PayloadColumns {
    /// Index into [`SCHEMA_NAMES`].
    pub schema_id: i64,
    /// The values of [`PAYLOAD_COLUMNS`].
    pub fields: [Option<i64>; 8],
}

/// `Some(v)` unless `v` is the key (the aggregate id column is then NULL).
fn unless_key(v: u64, key: u64) -> Option<i64> {
    (v != key).then_some(v as i64)
}

impl PayloadColumns {
    /// The columns of `payload` on an event keyed by `key`.
    pub(super) fn of(payload: &Payload, key: u64) -> PayloadColumns {
        let n = |v: u64| Some(v as i64);
        match *payload {
            Payload::Order {
                order_id,
                user_id,
                sku,
                quantity,
                amount_cents,
            } => PayloadColumns {
                schema_id: 0,
                fields: [
                    unless_key(order_id, key),
                    n(user_id),
                    n(u64::from(sku)),
                    n(u64::from(quantity)),
                    n(amount_cents),
                    None,
                    None,
                    None,
                ],
            },
            Payload::User {
                user_id,
                email_domain,
            } => PayloadColumns {
                schema_id: 1,
                fields: [
                    unless_key(user_id, key),
                    None,
                    None,
                    None,
                    None,
                    n(u64::from(email_domain)),
                    None,
                    None,
                ],
            },
            Payload::Payment {
                payment_id,
                order_id,
                amount_cents,
                method,
            } => PayloadColumns {
                schema_id: 2,
                fields: [
                    unless_key(order_id, key),
                    None,
                    None,
                    None,
                    n(amount_cents),
                    None,
                    n(payment_id),
                    n(u64::from(method)),
                ],
            },
            Payload::Generic { entity_id } => PayloadColumns {
                schema_id: 3,
                fields: [
                    unless_key(entity_id, key),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                ],
            },
        }
    }

    /// The payload these columns hold for an event keyed by `key`, or
    /// what is wrong with them (a missing field, a value out of range,
    /// an unknown schema).
    pub(super) fn payload(&self, key: u64) -> Result<Payload, String> {
        let field = |i: usize| -> Result<i64, String> {
            self.fields[i].ok_or_else(|| {
                format!(
                    "{} has no {}",
                    SCHEMA_NAMES.get(self.schema_id as usize).unwrap_or(&"?"),
                    PAYLOAD_COLUMNS[i]
                )
            })
        };
        let narrow = |i: usize, max: u64| -> Result<u64, String> {
            let v = field(i)? as u64;
            if v > max {
                return Err(format!("{} {v} is out of range", PAYLOAD_COLUMNS[i]));
            }
            Ok(v)
        };
        let aggregate = self.fields[0].map_or(key, |v| v as u64);
        Ok(match self.schema_id {
            0 => Payload::Order {
                order_id: aggregate,
                user_id: field(1)? as u64,
                sku: narrow(2, u64::from(u32::MAX))? as u32,
                quantity: narrow(3, u64::from(u16::MAX))? as u16,
                amount_cents: field(4)? as u64,
            },
            1 => Payload::User {
                user_id: aggregate,
                email_domain: narrow(5, u64::from(u8::MAX))? as u8,
            },
            2 => Payload::Payment {
                payment_id: field(6)? as u64,
                order_id: aggregate,
                amount_cents: field(4)? as u64,
                method: narrow(7, u64::from(u8::MAX))? as u8,
            },
            3 => Payload::Generic {
                entity_id: aggregate,
            },
            other => return Err(format!("unknown schema id {other}")),
        })
    }
}

/// The SQL expression (over `events e`) that rebuilds the payload JSON
/// exactly as serde writes a [`Payload`], for the `event_log` view.
pub(super) fn payload_json_sql() -> String {
    let agg = "coalesce(e.aggregate_id, e.key)";
    format!(
        "CASE e.schema_id
           WHEN 0 THEN json_object('schema', 'order', 'order_id', {agg}, 'user_id', e.user_id,
                                   'sku', e.sku, 'quantity', e.quantity, 'amount_cents', e.amount_cents)
           WHEN 1 THEN json_object('schema', 'user', 'user_id', {agg}, 'email_domain', e.email_domain)
           WHEN 2 THEN json_object('schema', 'payment', 'payment_id', e.payment_id, 'order_id', {agg},
                                   'amount_cents', e.amount_cents, 'method', e.method)
           ELSE json_object('schema', 'generic', 'entity_id', {agg})
         END"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn samples() -> Vec<(Payload, u64)> {
        vec![
            (
                Payload::Order {
                    order_id: 42,
                    user_id: 99_999,
                    sku: 4_321,
                    quantity: 5,
                    amount_cents: 100_990,
                },
                42,
            ),
            (
                Payload::User {
                    user_id: 7,
                    email_domain: 3,
                },
                7,
            ),
            (
                Payload::Payment {
                    payment_id: 999_999_999,
                    order_id: 1,
                    amount_cents: 500,
                    method: 2,
                },
                1,
            ),
            (Payload::Generic { entity_id: 0 }, 0),
            // An aggregate id that is not the key is kept.
            (Payload::Generic { entity_id: 12 }, 13),
            (
                Payload::Order {
                    order_id: u64::MAX,
                    user_id: u64::MAX - 1,
                    sku: u32::MAX,
                    quantity: u16::MAX,
                    amount_cents: u64::MAX,
                },
                3,
            ),
        ]
    }

    #[test]
    fn every_payload_round_trips_through_its_columns() {
        for (payload, key) in samples() {
            let cols = PayloadColumns::of(&payload, key);
            assert_eq!(cols.payload(key), Ok(payload), "{cols:?}");
        }
        let order = PayloadColumns::of(&samples()[0].0, 42);
        assert_eq!(order.fields[0], None, "the aggregate id is the key");
    }

    #[test]
    fn damaged_columns_are_an_error_not_a_panic() {
        let mut cols = PayloadColumns::of(&samples()[0].0, 42);
        cols.fields[2] = None;
        assert!(cols.payload(42).unwrap_err().contains("no sku"));
        cols.fields[2] = Some(1 << 40);
        assert!(cols.payload(42).unwrap_err().contains("out of range"));
        cols.schema_id = 9;
        assert!(cols.payload(42).unwrap_err().contains("unknown schema"));
        cols.schema_id = -1;
        assert!(cols.payload(42).is_err());
    }

    /// The `event_log` view's payload is the JSON serde writes.
    #[test]
    fn the_view_rebuilds_the_payload_json() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE events (key INTEGER, schema_id INTEGER, {});",
            PAYLOAD_COLUMNS.join(", ")
        ))
        .unwrap();
        let sql = format!("SELECT {} FROM events e", payload_json_sql());
        // Values above i64::MAX are stored as negative integers (read back
        // exactly by `payload`, shown negative by the view).
        for (payload, key) in samples()
            .into_iter()
            .filter(|(p, _)| !matches!(p, Payload::Order { order_id, .. } if *order_id == u64::MAX))
        {
            let cols = PayloadColumns::of(&payload, key);
            conn.execute("DELETE FROM events", []).unwrap();
            let mut values: Vec<Option<i64>> = vec![Some(key as i64), Some(cols.schema_id)];
            values.extend(cols.fields);
            conn.execute(
                &format!("INSERT INTO events VALUES ({})", ["?"; 10].join(",")),
                rusqlite::params_from_iter(values),
            )
            .unwrap();
            let json: String = conn.query_row(&sql, [], |r| r.get(0)).unwrap();
            assert_eq!(json, serde_json::to_string(&payload).unwrap());
        }
    }
}
