// Messages: one per topic (camera, api, face, ...), replaced in place, so screen readers
// hear a change once instead of a stream of repeats.

const messages = document.getElementById('messages');

export function showMessage(key, text, { level = 'error', action = null, link = null } = {}) {
  let box = messages.querySelector(`[data-key="${key}"]`);
  const signature = `${level}|${text}|${action?.label ?? ''}`;
  if (box?.dataset.signature === signature) return;
  if (!box) {
    box = document.createElement('div');
    box.dataset.key = key;
    box.setAttribute('data-testid', `message-${key}`);
    messages.append(box);
  }
  box.dataset.signature = signature;
  box.className = `message message-${level}`;
  box.setAttribute('role', level === 'error' ? 'alert' : 'status');
  const paragraph = document.createElement('p');
  paragraph.textContent = text;
  const parts = [paragraph];
  if (link) {
    const a = document.createElement('a');
    a.href = link.href;
    a.textContent = link.label;
    parts.push(a);
  }
  if (action) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = action.label;
    button.addEventListener('click', action.handler);
    parts.push(button);
  }
  box.replaceChildren(...parts);
}

export function clearMessage(key) {
  messages.querySelector(`[data-key="${key}"]`)?.remove();
}
