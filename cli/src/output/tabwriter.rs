//! Column alignment exactly like Go's `text/tabwriter`, which kubectl prints every table and every `describe` through.
//!
//! Text is split into lines and each line into tab-terminated cells; the text after a line's last
//! tab is not a cell and is never padded. A column's width is decided per *column block*: the
//! run of consecutive lines that all have a cell in that column. That is why, in `describe`,
//! a heading line without a tab (`Containers:`) restarts the alignment of the lines below it.

/// How cells are padded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TabWriter {
    /// Minimal width of a column, padding included.
    pub min_width: usize,
    /// Spaces added to the widest cell of a column.
    pub padding: usize,
}

/// `kubectl get`: `tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)`.
pub const TABLE: TabWriter = TabWriter {
    min_width: 6,
    padding: 3,
};

/// `kubectl describe`: `tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)`.
pub const DESCRIBE: TabWriter = TabWriter {
    min_width: 0,
    padding: 2,
};

fn width(cell: &str) -> usize {
    cell.chars().count()
}

impl TabWriter {
    /// Aligns `text` (lines separated by `\n`, cells by `\t`).
    pub fn format(&self, text: &str) -> String {
        let ends_with_newline = text.ends_with('\n');
        let body = text.strip_suffix('\n').unwrap_or(text);
        let lines: Vec<Vec<&str>> = body.split('\n').map(|l| l.split('\t').collect()).collect();
        let mut out = String::with_capacity(text.len() * 2);
        let mut widths = Vec::new();
        self.format_block(&lines, 0, lines.len(), &mut widths, &mut out);
        if !ends_with_newline {
            out.pop();
        }
        out
    }

    /// Go's `Writer.format`: finds the column blocks of column `widths.len()` within
    /// `[line0, line1)` and recurses into each with that column's width fixed.
    fn format_block(
        &self,
        lines: &[Vec<&str>],
        mut line0: usize,
        line1: usize,
        widths: &mut Vec<usize>,
        out: &mut String,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            // A line has a cell in `column` when it has a tab after that cell.
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            self.write_lines(lines, line0, this, widths, out);
            line0 = this;
            let mut column_width = self.min_width;
            while this < line1 && column + 1 < lines[this].len() {
                column_width = column_width.max(width(lines[this][column]) + self.padding);
                this += 1;
            }
            widths.push(column_width);
            self.format_block(lines, line0, this, widths, out);
            widths.pop();
            line0 = this;
        }
        self.write_lines(lines, line0, line1, widths, out);
    }

    fn write_lines(
        &self,
        lines: &[Vec<&str>],
        from: usize,
        to: usize,
        widths: &[usize],
        out: &mut String,
    ) {
        for line in &lines[from..to] {
            for (j, cell) in line.iter().enumerate() {
                out.push_str(cell);
                if let Some(w) = widths.get(j) {
                    if j + 1 < line.len() {
                        out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
                    }
                }
            }
            out.push('\n');
        }
    }
}

/// Column widths kept across several writes, like kubectl's `RememberWidths` flag: `get -w`
/// prints each change as it comes, aligned with the rows printed before it.
#[derive(Clone, Debug, Default)]
pub struct RememberedWidths {
    widths: Vec<usize>,
}

impl RememberedWidths {
    /// Aligns `rows` (cells without tabs), widening columns only when a cell needs it.
    pub fn format_rows(&mut self, rows: &[Vec<String>]) -> String {
        for row in rows {
            for (j, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
                let w = (width(cell) + TABLE.padding).max(TABLE.min_width);
                match self.widths.get_mut(j) {
                    Some(old) => *old = (*old).max(w),
                    None => self.widths.push(w),
                }
            }
        }
        let mut out = String::new();
        for row in rows {
            for (j, cell) in row.iter().enumerate() {
                out.push_str(cell);
                if j + 1 < row.len() {
                    let w = self.widths.get(j).copied().unwrap_or(0);
                    out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_padded_by_three_with_a_minimum_of_six() {
        let text = "NAME\tREADY\tSTATUS\tRESTARTS\tAGE\nkubia-liveness\t1/1\tRunning\t0\t5m\n";
        assert_eq!(
            TABLE.format(text),
            "NAME             READY   STATUS    RESTARTS   AGE\n\
             kubia-liveness   1/1     Running   0          5m\n"
        );
        assert_eq!(TABLE.format("A\tB\nx\ty\n"), "A     B\nx     y\n");
    }

    #[test]
    fn a_line_without_tabs_starts_a_new_column_block() {
        let text = "Name:\tp\nNamespace:\tdefault\nContainers:\n  kubia:\n    Image:\tx\n    Restart Count:\t0\n";
        assert_eq!(
            DESCRIBE.format(text),
            "Name:       p\nNamespace:  default\nContainers:\n  kubia:\n    Image:          x\n    Restart Count:  0\n"
        );
    }

    #[test]
    fn nested_columns_are_aligned_within_their_own_blocks() {
        // Column 1 exists only on the last two lines, so only they align it.
        let text = "a:\tx\nbb:\ty\tz\nc:\tlonger\tw\n";
        assert_eq!(
            DESCRIBE.format(text),
            "a:   x\nbb:  y       z\nc:   longer  w\n"
        );
    }

    #[test]
    fn trailing_cells_and_empty_cells() {
        assert_eq!(
            DESCRIBE.format("Labels:\ta=b\n\tc=d\n"),
            "Labels:  a=b\n         c=d\n"
        );
        assert_eq!(DESCRIBE.format("no newline\tx"), "no newline  x");
        assert_eq!(DESCRIBE.format(""), "");
    }

    #[test]
    fn remembered_widths_only_grow() {
        let mut w = RememberedWidths::default();
        let first = w.format_rows(&[
            vec!["NAME".into(), "STATUS".into(), "AGE".into()],
            vec!["a".into(), "Running".into(), "1s".into()],
        ]);
        assert_eq!(first, "NAME   STATUS    AGE\na      Running   1s\n");
        let next = w.format_rows(&[vec!["a".into(), "Terminating".into(), "2s".into()]]);
        assert_eq!(next, "a      Terminating   2s\n");
        let after = w.format_rows(&[vec!["a".into(), "Pending".into(), "3s".into()]]);
        assert_eq!(after, "a      Pending       3s\n");
    }
}
