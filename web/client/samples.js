// The samples page: public-domain photos, each a click away from the app.

const list = document.querySelector("#samples");
for (const s of await (await fetch("samples.json")).json()) {
  const li = document.createElement("li");
  const img = document.createElement("img");
  img.src = s.file;
  img.alt = s.title;
  const title = document.createElement("h2");
  title.textContent = s.title;
  const credit = document.createElement("p");
  credit.className = "note";
  credit.textContent = s.credit;
  const open = document.createElement("a");
  open.className = "button";
  const query = `sample=${encodeURIComponent(s.file).replace("%2F", "/")}`;
  open.href = `./?${query}`;
  open.textContent = "Open in the app";
  const arena = document.createElement("a");
  arena.className = "button secondary";
  arena.href = `arena.html?${query}`;
  arena.textContent = "Compare the engines";
  const actions = document.createElement("p");
  actions.className = "sample-actions";
  actions.append(open, arena);
  li.append(img, title, credit, actions);
  list.append(li);
}
