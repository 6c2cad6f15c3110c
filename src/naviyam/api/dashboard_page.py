"""The dashboard's HTML: one self-contained page (charts as PNG data URIs, inline CSS, no script, no network).

A Content-Security-Policy (:data:`CSP`) lets the page load nothing from
anywhere: images only from ``data:``, styles only inline, forms only to this
server.
"""

from __future__ import annotations

import base64
import html

from naviyam.learning.ab import CANDIDATE, PRODUCTION
from naviyam.learning.ab_report import ARM_NAMES, METRIC_NAMES
from naviyam.monitor.daily import METRICS
from naviyam.service.dashboard import CHARTS, SUMMARY, Dashboard

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

STYLE = """
body{font-family:"NanumGothic","Noto Sans CJK KR",sans-serif;margin:0;background:#f6f7f9;color:#222}
header{background:#2f6f4f;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}
header h1{font-size:20px;margin:0} header form{margin:0}
main{padding:16px 24px;max-width:1400px}
section{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px #0002}
h2{font-size:17px;margin:4px 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}
.card .v{font-size:20px;font-weight:bold} .card .l{font-size:12px;color:#555}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:8px}
.charts figure{margin:0} .charts img{width:100%;height:auto}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.muted{color:#777;font-size:13px} .warn{color:#b03a2e} .ok{color:#2f6f4f}
.verdict{font-weight:bold;margin:8px 0}
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name in ("ctr", "conversion_rate", "error_rate"):
        return f"{value:.1%}"
    if name.endswith("_ms"):
        return f"{value:.0f} ms"
    if name == "daily_active_users":
        return f"{value:.0f}명"
    return f"{value:.2f}"


def _page(title: str, body: str, *, header_extra: str = "") -> str:
    return (f'<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><header><h1>{html.escape(title)}</h1>{header_extra}</header><main>{body}</main></body></html>')


def login_page(message: str) -> str:
    """The page a browser without the key gets (with status 401): the reason and a form for the key."""
    body = (f'<section id="login"><h2>관리자 로그인</h2><p class="warn" id="login-message">{html.escape(message)}</p>'
            '<form method="post" action="/admin/dashboard/login">'
            '<label>관리자 키 <input type="password" name="key" autocomplete="current-password" required></label> '
            '<button type="submit">들어가기</button></form>'
            '<p class="muted">관리자 키는 NAVIYAM_ADMIN_API_KEY 값이에요. 로그인하면 이 브라우저에 8시간 동안 '
            '유지돼요.</p></section>')
    return _page("나비얌 관리자 대시보드", body)


def _summary(d: Dashboard) -> str:
    day, metrics = d.latest()
    if day is None:
        return '<section id="summary"><h2>요약</h2><p class="muted">아직 대화 기록이 없어요.</p></section>'
    note = " (오늘, 집계 중)" if day == d.live_day else ""
    cards = "".join(f'<div class="card"><div class="v">{_fmt(n, metrics.get(n))}</div>'
                    f'<div class="l">{html.escape(METRICS[n])}</div></div>' for n in SUMMARY)
    return (f'<section id="summary"><h2>요약: {day.isoformat()}{note}</h2><div class="cards">{cards}</div>'
            '</section>')


def _daily(d: Dashboard) -> str:
    imgs = "".join(f'<figure><img id="chart-{key}" src="{data_uri(d.charts[key])}" alt="{html.escape(title)} 그래프">'
                   f'</figure>' for key, title, _ in CHARTS)
    days = sorted(d.history, reverse=True)
    names = SUMMARY
    rows = "".join(
        f"<tr><td>{day.isoformat()}{' (집계 중)' if day == d.live_day else ''}</td>"
        + "".join(f"<td>{_fmt(n, d.history[day].get(n))}</td>" for n in names) + "</tr>"
        for day in days if d.history[day].get("interactions"))
    table = (f'<table id="daily-table"><tr><th>날짜</th>{"".join(f"<th>{html.escape(METRICS[n])}</th>" for n in names)}'
             f'</tr>{rows}</table>' if rows else '<p class="muted">기간 안에 대화 기록이 없어요.</p>')
    return (f'<section id="daily"><h2>일일 지표 ({d.start.isoformat()} ~ {d.end.isoformat()})</h2>'
            '<p class="muted">점선은 모델 승격일이에요. 지난 날은 매일 밤 `naviyam monitor daily`가 저장한 값이고, '
            '오늘은 지금까지의 대화로 계산한 값이에요(속이 빈 점).</p>'
            f'<div class="charts">{imgs}</div>{table}</section>')


def _models(d: Dashboard) -> str:
    rows = "".join(f"<tr><td>{html.escape(m.kind)}</td><td>{html.escape(m.version)}</td>"
                   f"<td>{m.promoted_at:%Y-%m-%d %H:%M}</td></tr>" if m.promoted_at else
                   f"<tr><td>{html.escape(m.kind)}</td><td>{html.escape(m.version)}</td><td>-</td></tr>"
                   for m in d.serving)
    cand = d.candidates.get("ranker")
    serving_ranker = next((m.version for m in d.serving if m.kind == "ranker"), None)
    cand_line = (f'<p>A/B 후보 랭커: <b>{html.escape(cand)}</b> (사용자 {d.ab_share:.0%})</p>'
                 if cand and cand != serving_ranker else "")
    promos = "".join(f"<li>{day.isoformat()} {html.escape(kind)} → {html.escape(version)}</li>"
                     for day, kind, version in d.promotions)
    return ('<section id="models"><h2>사용 중인 모델</h2>'
            f'<table id="models-table"><tr><th>종류</th><th>버전</th><th>승격 시각</th></tr>{rows}</table>{cand_line}'
            f'<h3>기간 안의 승격</h3><ul id="promotions">{promos or "<li>없음</li>"}</ul></section>')


def _alerts(d: Dashboard) -> str:
    if not d.alerts:
        return '<section id="alerts"><h2>열린 알림</h2><p class="ok">열린 알림이 없어요.</p></section>'
    rows = "".join(f"<tr><td>{a.created_at:%Y-%m-%d %H:%M}</td><td>{html.escape(a.severity)}</td>"
                   f"<td>{html.escape(a.kind)}</td><td>{html.escape(a.message)}</td></tr>" for a in d.alerts)
    return (f'<section id="alerts"><h2>열린 알림 ({len(d.alerts)}개)</h2><table id="alerts-table"><tr><th>시각</th>'
            f'<th>심각도</th><th>종류</th><th>내용</th></tr>{rows}</table></section>')


def _ab(d: Dashboard) -> str:
    rep = d.ab
    head = '<section id="ab"><h2>A/B 테스트</h2>'
    if rep.candidate_version is None:
        state = "켜져 있지만 아직 후보 그룹의 기록이 없어요" if d.ab_share > 0 else "꺼져 있어요 (NAVIYAM_AB_SHARE=0)"
        return head + f'<p class="muted">진행 중인 A/B 테스트가 없어요. A/B 테스트는 {state}.</p></section>'
    design = rep.design
    level = f"{1 - design.alpha:.0%}"
    rows = ""
    for arm in (CANDIDATE, PRODUCTION):
        s = rep.arms.get(arm)
        if s is None:
            continue
        rows += (f"<tr><td>{ARM_NAMES[arm]}</td><td>{s.users}</td><td>{s.shown}</td>"
                 f"<td>{s.ctr.mean:.3f} [{s.ctr.low:.3f}, {s.ctr.high:.3f}]</td>"
                 f"<td>{s.conversion.mean:.3f} [{s.conversion.low:.3f}, {s.conversion.high:.3f}]</td></tr>")
    comps = "".join(f"<tr><td>{html.escape(METRIC_NAMES[c.metric])}</td><td>{c.welch.diff:+.3f}</td>"
                    f"<td>[{c.welch.low:+.3f}, {c.welch.high:+.3f}]</td><td>{c.welch.p_value:.4f}</td></tr>"
                    for c in rep.comparisons)
    img = (f'<img id="chart-ab" src="{data_uri(d.ab_chart)}" alt="A/B 신뢰구간 그래프" style="max-width:900px;width:100%">'
           if d.ab_chart else "")
    period = f"{rep.start:%Y-%m-%d} ~ {rep.end:%Y-%m-%d} (UTC)" if rep.start else ""
    return (head + f'<p>후보 랭커 <b>{html.escape(rep.candidate_version)}</b>, 운영 '
            f'{html.escape(", ".join(rep.production_versions) or "-")} · {period}</p>'
            f'<p class="muted">단위는 사용자예요. 유의수준 {design.alpha}, 검정력 {design.power}, 최소 검출 효과 '
            f'{design.mde} → 계획 표본 그룹당 {rep.planned_users}명.</p>'
            f'<table id="ab-table"><tr><th>그룹</th><th>사용자</th><th>추천 본 대화</th><th>사용자당 CTR ({level})</th>'
            f'<th>사용자당 전환율 ({level})</th></tr>{rows}</table>'
            + (f'<table><tr><th>후보 - 운영</th><th>차이</th><th>{level} 신뢰구간</th><th>p (Welch)</th></tr>'
               f'{comps}</table>' if comps else "")
            + f'<p class="verdict" id="ab-verdict">{html.escape(rep.verdict())}</p>{img}</section>')


def dashboard_page(d: Dashboard) -> str:
    logout = ('<form method="post" action="/admin/dashboard/logout"><button type="submit">로그아웃</button></form>')
    body = _summary(d) + _daily(d) + _models(d) + _alerts(d) + _ab(d)
    return _page("나비얌 관리자 대시보드", body, header_extra=logout)
