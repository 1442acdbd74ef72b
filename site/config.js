// Where the emotion API lives. scripts/deploy_site.sh rewrites this file at deploy time with
// the stack's ApiUrl; an empty apiUrl means the API is served by this same origin (make run).
window.EMOTION_CONFIG = { apiUrl: '' };
