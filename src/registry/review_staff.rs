//! What the console's 评审 page reads of a round beyond the review tables' own rows: the
//! assignments that ended by recusal, and the review mail each expert last got.

use rusqlite::params;

use super::{Registry, Result};

/// A review mail sent to an address in a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewMailRow {
    pub address: String,
    /// YYYY-MM-DD, the campaign's day.
    pub day: String,
    /// invitation | reminder | complete | outcome | receipt
    pub purpose: String,
}

impl Registry {
    /// Per expert id, how many of their assignments in a round ended by recusal.
    pub fn recusals(&self, round: i64) -> Result<Vec<(i64, i64)>> {
        let mut st = self.conn.prepare(
            "SELECT expert, count(*) FROM review_assignments
             WHERE round = ?1 AND ended_why = 'recused' GROUP BY expert ORDER BY expert",
        )?;
        let rows = st
            .query_map([round], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The review mail of a round, oldest first.
    pub fn review_mail_of_round(&self, round: i64) -> Result<Vec<ReviewMailRow>> {
        let mut st = self.conn.prepare(
            "SELECT address, day, purpose FROM review_mail WHERE round = ?1
             ORDER BY day, created_at",
        )?;
        let rows = st
            .query_map(params![round], |r| {
                Ok(ReviewMailRow {
                    address: r.get(0)?,
                    day: r.get(1)?,
                    purpose: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
