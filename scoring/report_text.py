"""The words of report.html and the comparison page, one table per language.

A branch manager in Shenzhen reads 等级分布, an auditor in London "Tier distribution":
every heading, caption, table header and note of both pages comes from ``TEXT``, and
both tables have the same keys (a test checks it, and that every key is used), so a
sentence added in one language cannot be forgotten in the other. Values from the data
(tier labels, branch names, gate labels, file names) are never translated.

Templates are plain text: ``{name}`` placeholders are filled by the page after
escaping, and ``{measure}`` is the rule set's unit of score, "points" or, for a rule
set whose points are yuan (card-tier), "yuan" (``words``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .errors import ConfigError

__all__ = ["LANGS", "TEXT", "check_lang", "default_lang", "words"]

LANGS = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}

# Han ideographs: the unified block, extension A, compatibility and the supplementary planes.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        # the page as a whole
        "report_title": "tierscore report — {name} {start}..{end}",
        "compare_title": "tierscore comparison — {a} → {b} {start}..{end}",
        "points": "points",
        "yuan": "yuan",
        "total": "total",
        "list_sep": "; ",
        "comma": ", ",
        "more_rows": "{shown} of {total} {what} shown; all are in {where}.",
        # tiers
        "tiers_heading": "Tier distribution",
        "tiers_caption": "Customers and {measure} per tier, highest tier first.",
        "tiers_none": "No customers scored.",
        "col_tier": "tier",
        "col_customers": "customers",
        "col_share": "share",
        "col_measure": "{measure}",
        "col_assets": "assets daily average (yuan)",
        "key_group": "{label} ({tiers}): {customers} customers, {share} of all.",
        "chart_customers_per_tier": "customers per tier",
        "chart_measure_per_tier": "{measure} per tier",
        "chart_tiers_title": "Customers and {measure} per tier",
        # concentration
        "concentration_heading": "Concentration",
        "concentration_text": "{customers} customers ({share}) bring {target} of all {measure}.",
        "concentration_none": "No curve.",
        "concentration_caption": "Customers sorted by {measure}, highest first.",
        "chart_share_customers": "share of customers",
        "chart_share_measure": "share of {measure}",
        "chart_equal_share": "equal share",
        "chart_pareto_note": "{customers} of customers bring {points} of {measure}",
        "chart_concentration_title": "Share of customers against share of {measure}",
        # migration against --previous
        "migration_heading": "Tier migration",
        "migration_intro": "Compared with {previous}.",
        "migration_caption": (
            "Rows: previous tier (new: not in the earlier run). "
            "Columns: current tier (gone: not in this run)."
        ),
        "migration_rows": "previous tier",
        "migration_columns": "current tier",
        "migration_chart_title": "Customers per previous tier and current tier",
        "movement_caption": "Movement",
        "move_up": "up",
        "move_down": "down",
        "move_same": "same",
        "move_new": "new",
        "move_gone": "gone",
        "matrix_corner": "previous \\ current",
        "matrix_as_table": "matrix as table",
        # branches and managers
        "branches_heading": "Branches and managers",
        "per_branch": "Per branch",
        "per_manager": "Per manager",
        "branches_order": "Highest {measure} first.",
        "col_branch": "branch",
        "col_manager": "manager",
        "col_quality_customers": "quality customers",
        "more_branches": "branches (those with the most customers)",
        "more_managers": "managers (those with the most customers)",
        # upgrade potential
        "upgrade_heading": "Upgrade potential",
        "upgrade_intro": (
            "{customers} customers are within {pct}% of the next tier's {measure}; {listed} listed."
        ),
        "upgrade_capped": (
            "A capped lever's yuan count at most its cap per transaction, and only with a "
            "fee where the lever says so: no one transfer makes them. The transactions "
            "column gives the fewest that reach the next tier, at the standard fee."
        ),
        "more_upgrade": "customers closest to the next tier (at most 10 per branch)",
        "col_customer": "customer",
        "col_next_tier": "next tier",
        "col_to_next": "{measure} to next",
        "col_lever": "lever",
        "col_lever_yuan": "lever (yuan)",
        "col_lever_transactions": "lever (transactions)",
        "lever_transactions": "{n} of {each} each{codes}",
        "lever_no_cap": "no cap{codes}",
        # quality gates
        "quality_heading": "Quality gates",
        "quality_not_evaluated": "No --customers given: the quality gates were not applied.",
        "quality_blocked": "{customers} customers blocked by a quality gate.",
        "quality_partly": (
            "No --customers given: the gates on its columns were not applied: {gates}."
        ),
        "col_gate": "gate",
        "gate_unknown": "unknown (customers row unusable)",
        # row accounting
        "rows_heading": "Row accounting",
        "col_input": "input",
        "count_read": "read",
        "count_used": "used",
        "count_excluded": "excluded",
        "count_unmapped": "unmapped",
        "count_outside_window": "outside window",
        "count_duplicate": "duplicate",
        "count_rejected": "rejected",
        "input_balances": "balances",
        "input_transactions": "transactions",
        "input_customers": "customers",
        "unmapped_caption": "Unmapped codes",
        "col_code": "code",
        "col_rows": "rows",
        "unmapped_more": "{name}: {codes} more codes ({rows} rows)",
        "unmapped_all": "{notes}; every code is in unmapped_codes.csv.",
        # run facts
        "facts_heading": "Run facts",
        "fact_tool": "tool",
        "fact_polars": "polars",
        "fact_started": "started at",
        "fact_ruleset": "rule set",
        "fact_ruleset_title": "rule set title",
        "fact_ruleset_sha256": "rule set sha256",
        "fact_window": "window",
        "fact_days": "days",
        "inputs_caption": "Input files",
        "col_file": "file",
        "col_format": "format",
        "col_encoding": "encoding",
        "col_sha256": "sha256 (first 12)",
        "more_inputs": "input files",
        "timings_caption": "Stage timings",
        "col_stage": "stage",
        "col_seconds": "seconds",
        # the comparison of two rule sets
        "rulesets_heading": "Rule sets",
        "col_ruleset": "rule set",
        "side_a": "A (in use)",
        "side_b": "B (candidate)",
        "ruleset_name": "name",
        "ruleset_version": "version",
        "ruleset_title": "title",
        "ruleset_file": "file",
        "ruleset_sha256": "sha256",
        "compare_intro": (
            "Rows: tier under A, {a}. Columns: tier under B, {b}. {both} customers scored by "
            "both; {new}: {new_count} scored only by B; {gone}: {gone_count} scored only by A."
        ),
        "compare_rows": "tier under A",
        "compare_columns": "tier under B",
        "compare_chart_title": "Customers per tier under A and under B",
        "compare_caption": "Rows: tier under A. Columns: tier under B.",
        "compare_movement": "Movement from A to B",
        "compare_undefined": (
            "The rule sets list different tiers, so up and down are not defined: read the matrix."
        ),
        "matrix_corner_ab": "A \\ B",
        "compare_quality_heading": "Quality",
        "col_quality_a": "quality under A",
        "col_quality_b": "quality under B",
        "col_kept": "kept",
        "col_lost": "lost",
        "col_gained": "gained",
        "col_neither": "neither",
        "col_lost_quality": "lost quality",
        "quality_lost_caption": "Quality lost, by tier",
        "blocked_under": "Blocked under {side}",
        "side_caption": "{side}: {name}",
        "matrix_per_branch": "Matrix per branch",
        "col_quality_lost": "quality lost",
        "col_quality_gained": "quality gained",
        "more_branch_matrices": "branch matrices",
        "where_score_runs": "the scores.csv of a score run with each rule set",
    },
    "zh": {
        "report_title": "tierscore 报告 — {name} {start}..{end}",
        "compare_title": "tierscore 规则集比较 — {a} → {b} {start}..{end}",
        "points": "积分",
        "yuan": "金额（元）",
        "total": "合计",
        "list_sep": "；",
        "comma": "、",
        "more_rows": "显示 {shown} / {total} {what}；全部见 {where}。",
        "tiers_heading": "等级分布",
        "tiers_caption": "各等级的客户数与{measure}，最高等级在前。",
        "tiers_none": "没有客户参与评级。",
        "col_tier": "等级",
        "col_customers": "客户数",
        "col_share": "占比",
        "col_measure": "{measure}",
        "col_assets": "日均金融资产（元）",
        "key_group": "{label}（{tiers}）：{customers} 位客户，占全部客户的 {share}。",
        "chart_customers_per_tier": "各等级客户数",
        "chart_measure_per_tier": "各等级{measure}",
        "chart_tiers_title": "各等级客户数与{measure}",
        "concentration_heading": "客户集中度",
        "concentration_text": "{customers} 位客户（{share}）贡献了全部{measure}的 {target}。",
        "concentration_none": "没有曲线数据。",
        "concentration_caption": "客户按{measure}从高到低排列。",
        "chart_share_customers": "客户占比",
        "chart_share_measure": "{measure}占比",
        "chart_equal_share": "均等分布",
        "chart_pareto_note": "{customers} 的客户贡献 {points} 的{measure}",
        "chart_concentration_title": "客户占比与{measure}占比",
        "migration_heading": "等级迁移",
        "migration_intro": "对比上期结果 {previous}。",
        "migration_caption": "行：上期等级（new：上期没有）。列：本期等级（gone：本期没有）。",
        "migration_rows": "上期等级",
        "migration_columns": "本期等级",
        "migration_chart_title": "按上期等级与本期等级的客户数",
        "movement_caption": "变动",
        "move_up": "升级",
        "move_down": "降级",
        "move_same": "不变",
        "move_new": "新增",
        "move_gone": "移出",
        "matrix_corner": "上期 \\ 本期",
        "matrix_as_table": "矩阵表格",
        "branches_heading": "网点与客户经理",
        "per_branch": "按网点",
        "per_manager": "按客户经理",
        "branches_order": "按{measure}从高到低排列。",
        "col_branch": "网点",
        "col_manager": "客户经理",
        "col_quality_customers": "优质客户数",
        "more_branches": "个网点（客户最多的）",
        "more_managers": "位客户经理（客户最多的）",
        "upgrade_heading": "升级潜力",
        "upgrade_intro": (
            "{customers} 位客户距下一等级的{measure}门槛不到 {pct}%；列出 {listed} 位。"
        ),
        "upgrade_capped": (
            "有上限的提升途径：每笔交易最多按上限计入金额，且仅在提升途径注明时才需收费，"
            "因此无法靠一笔转账达成。交易笔数一列是按标准费率达到下一等级所需的最少笔数。"
        ),
        "more_upgrade": "位最接近下一等级的客户（每个网点最多 10 位）",
        "col_customer": "客户",
        "col_next_tier": "下一等级",
        "col_to_next": "距下一等级{measure}",
        "col_lever": "提升途径",
        "col_lever_yuan": "提升途径（元）",
        "col_lever_transactions": "提升途径（笔数）",
        "lever_transactions": "{n} 笔，每笔 {each}{codes}",
        "lever_no_cap": "无上限{codes}",
        "quality_heading": "优质客户门槛",
        "quality_not_evaluated": "未提供 --customers：优质客户门槛未应用。",
        "quality_blocked": "{customers} 位客户因优质客户门槛未计入优质客户。",
        "quality_partly": "未提供 --customers：客户信息列上的门槛未应用：{gates}。",
        "col_gate": "门槛",
        "gate_unknown": "未知（客户信息行无法使用）",
        "rows_heading": "数据行核对",
        "col_input": "输入",
        "count_read": "读取",
        "count_used": "采用",
        "count_excluded": "排除",
        "count_unmapped": "未映射",
        "count_outside_window": "窗口外",
        "count_duplicate": "重复",
        "count_rejected": "拒绝",
        "input_balances": "余额",
        "input_transactions": "交易",
        "input_customers": "客户信息",
        "unmapped_caption": "未映射代码",
        "col_code": "代码",
        "col_rows": "行数",
        "unmapped_more": "{name}：另有 {codes} 个代码（{rows} 行）",
        "unmapped_all": "{notes}；全部代码见 unmapped_codes.csv。",
        "facts_heading": "运行信息",
        "fact_tool": "工具",
        "fact_polars": "polars",
        "fact_started": "开始时间",
        "fact_ruleset": "规则集",
        "fact_ruleset_title": "规则集标题",
        "fact_ruleset_sha256": "规则集 sha256",
        "fact_window": "时间窗口",
        "fact_days": "天数",
        "inputs_caption": "输入文件",
        "col_file": "文件",
        "col_format": "格式",
        "col_encoding": "编码",
        "col_sha256": "sha256（前 12 位）",
        "more_inputs": "个输入文件",
        "timings_caption": "各阶段耗时",
        "col_stage": "阶段",
        "col_seconds": "秒",
        "rulesets_heading": "规则集",
        "col_ruleset": "规则集",
        "side_a": "A（现行）",
        "side_b": "B（候选）",
        "ruleset_name": "名称",
        "ruleset_version": "版本",
        "ruleset_title": "标题",
        "ruleset_file": "文件",
        "ruleset_sha256": "sha256",
        "compare_intro": (
            "行：A 下的等级，{a}。列：B 下的等级，{b}。两套规则都评级的客户 {both} 位；"
            "{new}：{new_count} 位只由 B 评级；{gone}：{gone_count} 位只由 A 评级。"
        ),
        "compare_rows": "A 下的等级",
        "compare_columns": "B 下的等级",
        "compare_chart_title": "按 A 下等级与 B 下等级的客户数",
        "compare_caption": "行：A 下的等级。列：B 下的等级。",
        "compare_movement": "从 A 到 B 的变动",
        "compare_undefined": "两套规则集的等级不同，因此没有升级、降级之分：请看迁移矩阵。",
        "matrix_corner_ab": "A \\ B",
        "compare_quality_heading": "优质客户",
        "col_quality_a": "A 下优质客户",
        "col_quality_b": "B 下优质客户",
        "col_kept": "保持",
        "col_lost": "失去",
        "col_gained": "获得",
        "col_neither": "均不是",
        "col_lost_quality": "失去优质",
        "quality_lost_caption": "失去优质的客户（按 A 下等级）",
        "blocked_under": "{side} 下被门槛排除",
        "side_caption": "{side}：{name}",
        "matrix_per_branch": "各网点矩阵",
        "col_quality_lost": "失去优质",
        "col_quality_gained": "获得优质",
        "more_branch_matrices": "个网点矩阵",
        "where_score_runs": "每套规则集各自 score 运行的 scores.csv",
    },
}


def check_lang(value: str | None) -> str | None:
    """``--lang`` as given (any case), or None for the default; another is exit 2."""
    if value is None:
        return None
    lang = value.strip().lower()
    if lang not in LANGS:
        raise ConfigError(f"{value!r} is not a report language: zh or en", key="--lang")
    return lang


def default_lang(labels: Iterable[Any]) -> str:
    """zh when a tier label is written in Chinese (a Han character), else en: the
    people who name their tiers 七星级 read Chinese."""
    return "zh" if any(_HAN.search(str(label)) for label in labels) else "en"


def words(lang: str, yuan: bool = False) -> dict[str, str]:
    """The language's table with ``{measure}`` filled in: yuan where a point is a yuan."""
    table = TEXT[lang]
    measure = table["yuan" if yuan else "points"]
    return {key: text.replace("{measure}", measure) for key, text in table.items()}
