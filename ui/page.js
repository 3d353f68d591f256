// The chat page's script (ui/app.py passes it to Gradio as `js`): one handler for every «#qa:…»
// link in the chat and the panel, copying, citations at phone width, and Gradio's own English words.
() => {
  document.documentElement.lang = "zh-CN";
  const copy = (link) => {
    const copied = link.closest(".qa-answer").querySelector(".qa-copy-text").textContent;
    navigator.clipboard.writeText(copied).then(
      () => { link.textContent = "已复制"; setTimeout(() => { link.textContent = "复制"; }, 1500); },
      () => { link.textContent = "复制失败"; },
    );
  };
  const openUnderAnswer = (link, n) => {
    const chat = document.querySelector("#qa-chat"), panel = document.querySelector("#qa-sources");
    const passage = chat.contains(link) && link.closest(".qa-answer")?.querySelector(`.qa-inline-${n}`);
    if (!passage || panel.getBoundingClientRect().top < chat.getBoundingClientRect().bottom) return false;
    if (passage.classList.toggle("qa-open")) passage.scrollIntoView({block: "nearest", behavior: "smooth"});
    return true;
  };
  // Words Gradio 6.31 writes in English whatever the page's language: a toast's title (its level;
  // the title it is sent is ignored) and the line under a file being uploaded.
  const TOAST_TITLES = {warning: "提示", info: "提示", success: "完成", error: "出错"};
  const inChinese = () => {
    for (const title of document.querySelectorAll(".toast-title")) {
      const level = [...title.classList].find((name) => name in TOAST_TITLES);
      if (level) rewrite(title.firstChild, () => TOAST_TITLES[level]);
    }
    for (const line of document.querySelectorAll(".uploading")) {
      rewrite(line.firstChild, (words) => words.replace(/Uploading (\d+) files?\.\.\./, "正在上传 $1 个文件…"));
    }
  };
  // The text node itself, which Gradio goes on updating: a changed count is seen and rewritten again.
  const rewrite = (node, chinese) => {
    if (node?.nodeType !== Node.TEXT_NODE) return;
    const words = chinese(node.nodeValue);
    if (words !== node.nodeValue) node.nodeValue = words;
  };
  new MutationObserver(inChinese).observe(document.body, {childList: true, subtree: true, characterData: true});
  document.addEventListener("click", (event) => {
    const link = event.target.closest('a[href^="#qa:"]');
    if (!link) return;
    event.preventDefault();
    const href = link.getAttribute("href"), [, kind, , , n] = href.split(":");
    if (kind === "copy") return copy(link);
    if (kind === "cite" && openUnderAnswer(link, n)) return;
    window.qaAction = href;
    document.querySelector(kind === "asis" ? "#qa-asis" : "#qa-go").click();
  }, true);
}
