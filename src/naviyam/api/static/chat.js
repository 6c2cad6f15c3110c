// Naviyam web chat: sends messages to /chat, renders recommendations as cards,
// and reports clicks and favourites to /feedback.
(function () {
  "use strict";
  const chat = document.getElementById("chat");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const suggestions = document.getElementById("suggestions");
  const userField = document.getElementById("user-id");
  const useLocation = document.getElementById("use-location");
  const privacyNotice = document.getElementById("privacy-notice");
  let sessionId = sessionStorage.getItem("naviyam-session") || null;
  let position = null;

  userField.value = localStorage.getItem("naviyam-user") || "";
  userField.addEventListener("change", () => localStorage.setItem("naviyam-user", userField.value.trim()));
  useLocation.addEventListener("change", () => {
    if (useLocation.checked && navigator.geolocation) {
      navigator.geolocation.getCurrentPosition(
        (p) => { position = { lat: p.coords.latitude, lon: p.coords.longitude }; },
        () => { position = null; useLocation.checked = false; });
    } else { position = null; }
  });

  function userId() {
    const v = userField.value.trim();
    return /^\d+$/.test(v) ? parseInt(v, 10) : null;
  }

  function bubble(text, cls) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    div.textContent = text;
    chat.appendChild(div);
    chat.scrollTop = chat.scrollHeight;
    return div;
  }

  function won(n) { return Number(n).toLocaleString("ko-KR") + "원"; }

  async function feedback(rec, type, interactionId, button) {
    try {
      const r = await fetch("/feedback", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user_id: userId(), shop_id: rec.shop_id, feedback_type: type, interaction_id: interactionId }),
      });
      if (r.status === 202) { button.classList.add("done"); button.disabled = true; }
    } catch (e) { /* feedback is best effort for the page; the server stores what arrives */ }
  }

  function cards(recs, interactionId) {
    const box = document.createElement("div");
    box.className = "cards";
    for (const rec of recs) {
      const card = document.createElement("article");
      card.className = "card";
      card.dataset.shopId = rec.shop_id;
      const h = document.createElement("h3");
      h.textContent = rec.name + " · " + rec.category;
      const meta = document.createElement("div");
      meta.className = "meta";
      const pr = rec.price_range || {};
      const parts = [];
      if (pr.min != null) parts.push(pr.min === pr.max ? won(pr.min) : won(pr.min) + "~" + won(pr.max));
      if (rec.walk_minutes != null && rec.walk_minutes <= 30) parts.push("걸어서 " + rec.walk_minutes + "분");
      else if (rec.distance_m != null) parts.push(rec.distance_m < 1000 ? Math.round(rec.distance_m) + "m" : (rec.distance_m / 1000).toFixed(1) + "km");
      if (rec.rating != null) parts.push("★ " + rec.rating.toFixed(1));
      meta.textContent = parts.join(" · ");
      const badges = document.createElement("div");
      badges.className = "badges";
      if (rec.accepts_meal_card) { const s = document.createElement("span"); s.textContent = "급식카드"; badges.appendChild(s); }
      if (rec.is_good_shop) { const s = document.createElement("span"); s.className = "good"; s.textContent = "착한가게"; badges.appendChild(s); }
      if (rec.open_now === false) { const s = document.createElement("span"); s.className = "closed"; s.textContent = "지금은 문 닫음" + (rec.opens_text ? " · " + rec.opens_text : ""); badges.appendChild(s); }
      else if (rec.closing_soon && rec.closes_at) { const s = document.createElement("span"); s.className = "soon"; s.textContent = "곧 문 닫아요 (" + rec.closes_at + "까지)"; badges.appendChild(s); }
      else if (rec.open_now && rec.closes_at) { const s = document.createElement("span"); s.textContent = "영업 중 · " + rec.closes_at + "까지"; badges.appendChild(s); }
      const dishes = document.createElement("p");
      dishes.className = "dishes";
      if (rec.dishes && rec.dishes.length) dishes.textContent = "먹을 수 있는 메뉴: " + rec.dishes.map((d) => d.name + " " + won(d.price)).join(", ");
      const reason = document.createElement("p");
      reason.className = "reason";
      reason.textContent = rec.reason || "";
      const look = document.createElement("button");
      look.textContent = "가 볼래요";
      look.className = "fb-clicked";
      look.addEventListener("click", () => feedback(rec, "clicked", interactionId, look));
      const fav = document.createElement("button");
      fav.textContent = "즐겨찾기";
      fav.className = "fb-favorited";
      fav.addEventListener("click", () => feedback(rec, "favorited", interactionId, fav));
      card.append(h, meta, badges, dishes, reason, look, fav);
      box.appendChild(card);
    }
    chat.appendChild(box);
    chat.scrollTop = chat.scrollHeight;
  }

  function showSuggestions(list) {
    suggestions.innerHTML = "";
    for (const s of list || []) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = s;
      b.addEventListener("click", () => { input.value = s; form.requestSubmit(); });
      suggestions.appendChild(b);
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    bubble(text, "user");
    input.value = "";
    send.disabled = true;
    showSuggestions([]);
    const body = { user_id: userId(), message: text, session_id: sessionId };
    if (position) body.context = position;
    try {
      const r = await fetch("/chat", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const data = await r.json();
      if (!r.ok) {
        bubble(typeof data.detail === "string" ? data.detail : "잠시 문제가 생겼어요. 다시 해 볼까요?", "bot error");
      } else {
        sessionId = data.session_id;
        sessionStorage.setItem("naviyam-session", sessionId);
        bubble(data.response, "bot");
        if (data.privacy_notice) {  // a child without a guardian's consent: say what is not kept
          privacyNotice.textContent = data.privacy_notice;
          privacyNotice.hidden = false;
        }
        if (data.recommendations && data.recommendations.length) cards(data.recommendations, data.interaction_id);
        showSuggestions(data.follow_up_questions);
      }
    } catch (e) {
      bubble("인터넷 연결을 확인하고 다시 보내 줘요.", "bot error");
    } finally {
      send.disabled = false;
      input.focus();
    }
  });
})();
