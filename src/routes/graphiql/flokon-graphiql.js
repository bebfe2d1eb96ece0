// Starts GraphiQL on the page that loaded it (GET /graphql). A file of its
// own, not an inline script: the page's Content-Security-Policy allows
// scripts from the server only.
(function () {
  'use strict';

  // The API answers POSTs at the page's own address; subscriptions use the
  // WebSocket beside it, wss: when the page came over https:.
  var endpoint = new URL(window.location.pathname, window.location.origin);
  var subscriptions = new URL(endpoint.pathname.replace(/\/$/, '') + '/ws', endpoint);
  subscriptions.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

  var fetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    subscriptionUrl: subscriptions.toString(),
  });

  // A hint, not a token: the API ignores a bearer it does not know (the
  // schema still loads), and GraphiQL keeps no header between visits.
  var headers = JSON.stringify({ Authorization: 'Bearer ...' }, null, 2);

  var query = [
    '# API Flokon',
    '# Jeton : onglet Headers (plus',
    '# bas), à la place de ...',
    '# Exécuter : Ctrl-Entrée.',
    '{',
    '  clients(first: 10) {',
    '    totalCount',
    '    edges {',
    '      node { id externalId name }',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: query,
      defaultHeaders: headers,
      defaultEditorToolsVisibility: 'headers',
    })
  );

  // The schema in view from the start: the documentation explorer, its
  // root types, then each field. GraphiQL 4's `visiblePlugin` prop cannot
  // do it (it marks the explorer as shown but leaves its panel closed), so
  // press the explorer's button once it is rendered.
  function openDocumentation(attempts) {
    var button = document.querySelector(
      '.graphiql-sidebar button[aria-label="Show Documentation Explorer"]'
    );
    if (button) {
      button.click();
    } else if (attempts > 0) {
      setTimeout(openDocumentation, 50, attempts - 1);
    }
  }
  openDocumentation(100);
})();
