// Imported first by the detector's worker: its fetch reaches this site only.
// @mediapipe/tasks-vision posts usage logs (a protobuf: the task, its timings, the
// browser's platform) to a Google endpoint a minute after a task is made and every minute
// after; the library has no option to turn that off. Refused here before it leaves the
// browser, its logger records the failure and stops for good (it clears its timer on the
// first failed send), while the detector's own files, all on this site, load as before.
// The page's Content-Security-Policy blocks such a request too; this keeps it from even
// being attempted.

const ownFetch = self.fetch.bind(self);

self.fetch = (resource, init) => {
  const url = new URL(resource instanceof Request ? resource.url : String(resource),
    self.location.href);
  if (url.origin !== self.location.origin) {
    return Promise.reject(new TypeError(`${url.origin} is not this site: not fetched`));
  }
  return ownFetch(resource, init);
};
