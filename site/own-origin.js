// Imported first by the detector's worker: its fetch reaches this site only. The worker's
// libraries load their files from vendor/ on this site; should one of them (or a later
// version) try to send anything elsewhere, as @mediapipe/tasks-vision, the page's first
// detector, did with usage logs to a Google endpoint, the request is refused here before it
// leaves the browser. The page's Content-Security-Policy blocks such a request too; this
// keeps it from even being attempted.

const ownFetch = self.fetch.bind(self);

self.fetch = (resource, init) => {
  const url = new URL(resource instanceof Request ? resource.url : String(resource),
    self.location.href);
  if (url.origin !== self.location.origin) {
    return Promise.reject(new TypeError(`${url.origin} is not this site: not fetched`));
  }
  return ownFetch(resource, init);
};
