-- The peer: the default icbc-star star rating (SPEC.md sections 1-4) as one DuckDB
-- query, written the way a data engineer would for clean, typed exports (Parquet, or CSV read
-- with declared column types).
-- Exact: money in integer cents (BIGINT), fee ratios in millionths, sums and points
-- in HUGEINT; a customer's points are N / (D * 10^12) and tiers compare N with
-- integer bounds, so 2,000.00 points is 五星级 however they add up.
--
-- Filled in by bench.py: {read_balances} {read_transactions} (read_parquet or read_csv of
-- every file of the input, at any folder depth, money as DECIMAL), {start} (first day),
-- {stop} (the day after the last), {days} (D), {out} (the Parquet file written).
-- What it does not do (tierscore does): validation and reject reports, duplicate and
-- conflict detection, row accounting, summary and manifest.

COPY (
WITH bal AS (
    -- each end-of-day balance holds until the account's next row: carry-forward
    SELECT
        customer_id,
        product,
        CAST(balance * 100 AS BIGINT) AS cents,
        date,
        LEAD(date) OVER (PARTITION BY account_id ORDER BY date) AS next_date
    FROM {read_balances}
),
held AS (
    -- days of the window the row holds: a carry-in row from the first day, clipped at
    -- both ends; rows after the window or superseded before it hold 0 days
    SELECT
        customer_id,
        product,
        cents * GREATEST(
            0,
            LEAST(COALESCE(next_date, DATE '{stop}'), DATE '{stop}')
                - GREATEST(date, DATE '{start}')
        ) AS cent_days
    FROM bal
),
bal_c AS (
    -- balance-days (积数) per component, in cent-days
    SELECT
        customer_id,
        SUM(cent_days) FILTER (
            WHERE product IN ('CURRENT', 'CUSTODY', 'LTKX', 'MMF', 'CC_DEPOSIT')
        ) AS short_term_assets,
        SUM(cent_days) FILTER (
            WHERE product IN ('TIME', 'PROVIDENT', 'WEALTH', 'FUND', 'BOND', 'INSURANCE', 'GOLD')
        ) AS long_term_assets,
        SUM(cent_days) FILTER (WHERE product = 'MORTGAGE') AS mortgage,
        SUM(cent_days) FILTER (
            WHERE product IN ('CONSUMER_LOAN', 'BUSINESS_LOAN')
        ) AS other_loans,
        SUM(cent_days) FILTER (WHERE product = 'CC_OVERDRAFT') AS card_overdraft
    FROM held
    GROUP BY customer_id
),
txn AS (
    -- min(amount, cap) x fee_ratio, in cent-millionths; a missing ratio is 1
    SELECT
        customer_id,
        txn_type,
        date >= DATE '{start}' AND date < DATE '{stop}' AS in_window,
        fee,
        CAST(
            CASE
                WHEN txn_type IN ('REMOTE_CASH', 'REMOTE_REMIT', 'INTERBANK_REMIT', 'EXPRESS_REMIT')
                    THEN LEAST(amount, 10000.00)
                ELSE amount
            END * 100 AS BIGINT
        ) * COALESCE(CAST(fee_ratio * 1000000 AS BIGINT), 1000000) AS value
    FROM {read_transactions}
),
txn_c AS (
    -- cumulative amounts per component; every customer kept, even with nothing counted
    SELECT
        customer_id,
        SUM(value) FILTER (
            WHERE in_window AND txn_type IN ('FUND_BUY', 'FUND_REDEEM', 'WEALTH_BUY', 'BOND_BUY',
                'INSURANCE_BUY', 'GOLD_TRADE', 'SILVER_TRADE', 'FX_TRADE')
        ) AS investment,
        SUM(value) FILTER (WHERE in_window AND txn_type = 'POS') AS card_spending,
        SUM(value) FILTER (
            WHERE in_window AND fee > 0 AND txn_type IN ('REMOTE_CASH', 'REMOTE_REMIT',
                'INTERBANK_REMIT', 'EXPRESS_REMIT')
        ) AS settlement
    FROM txn
    GROUP BY customer_id
),
measured AS (
    SELECT
        customer_id,
        COALESCE(short_term_assets, 0)::HUGEINT AS short_term_assets,
        COALESCE(long_term_assets, 0)::HUGEINT AS long_term_assets,
        COALESCE(mortgage, 0)::HUGEINT AS mortgage,
        COALESCE(other_loans, 0)::HUGEINT AS other_loans,
        COALESCE(card_overdraft, 0)::HUGEINT AS card_overdraft,
        COALESCE(investment, 0)::HUGEINT AS investment,
        COALESCE(card_spending, 0)::HUGEINT AS card_spending,
        COALESCE(settlement, 0)::HUGEINT AS settlement
    FROM bal_c FULL OUTER JOIN txn_c USING (customer_id)
),
scored AS (
    -- points x D x 10^12: balances (cent-days) x rate x 10^6, transactions
    -- (cent-millionths) x rate x D; rates per 10,000 yuan
    SELECT
        *,
        (135 * short_term_assets + 100 * long_term_assets + 100 * mortgage
            + 200 * other_loans + 200 * card_overdraft) * 1000000
        + (200 * investment + 400 * card_spending + 200 * settlement) * {days} AS n
    FROM measured
)
SELECT
    customer_id,
    -- daily averages (cent-days / D) and cumulative amounts (cent-millionths / 10^6)
    -- in yuan, rounded half-up to 0.01
    ((short_term_assets * 2 + {days}) // (2 * {days}))::DECIMAL(38, 0) * 0.01
        AS short_term_assets_amount,
    ((long_term_assets * 2 + {days}) // (2 * {days}))::DECIMAL(38, 0) * 0.01
        AS long_term_assets_amount,
    ((mortgage * 2 + {days}) // (2 * {days}))::DECIMAL(38, 0) * 0.01 AS mortgage_amount,
    ((other_loans * 2 + {days}) // (2 * {days}))::DECIMAL(38, 0) * 0.01 AS other_loans_amount,
    ((card_overdraft * 2 + {days}) // (2 * {days}))::DECIMAL(38, 0) * 0.01
        AS card_overdraft_amount,
    ((investment * 2 + 1000000) // 2000000)::DECIMAL(38, 0) * 0.01 AS investment_amount,
    ((card_spending * 2 + 1000000) // 2000000)::DECIMAL(38, 0) * 0.01 AS card_spending_amount,
    ((settlement * 2 + 1000000) // 2000000)::DECIMAL(38, 0) * 0.01 AS settlement_amount,
    ((n * 200 + {days}::HUGEINT * 1000000000000)
        // ({days}::HUGEINT * 2000000000000))::DECIMAL(38, 0) * 0.01 AS points,
    CASE
        WHEN n >= 80000 * {days}::HUGEINT * 1000000000000 THEN '七星级'
        WHEN n >= 10000 * {days}::HUGEINT * 1000000000000 THEN '六星级'
        WHEN n >= 2000 * {days}::HUGEINT * 1000000000000 THEN '五星级'
        WHEN n >= 500 * {days}::HUGEINT * 1000000000000 THEN '四星级'
        WHEN n >= 50 * {days}::HUGEINT * 1000000000000 THEN '三星级'
        WHEN n > 0 THEN '准星级'
        ELSE '非星级'
    END AS tier
FROM scored
ORDER BY customer_id
) TO '{out}' (FORMAT parquet);
