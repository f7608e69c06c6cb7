(function(){
  /* Interactive plans: pan/zoom on the SVG viewBox (wheel, drag, pinch, buttons), layer
     toggles, and the firm-pair table highlighting its routes. No library, no request. */
  function parse(vb){ return vb.trim().split(/[\s,]+/).map(Number); }
  function setup(wrap){
    var svg = wrap.querySelector('svg.map-svg');
    if (!svg) return;
    var home = parse(svg.getAttribute('data-home'));
    var vb = home.slice();
    function apply(){ svg.setAttribute('viewBox', vb.map(function(v){ return v.toFixed(2); }).join(' ')); }
    function toSvg(cx, cy){
      var r = svg.getBoundingClientRect();
      var s = Math.max(vb[2] / r.width, vb[3] / r.height);
      var ox = vb[0] + (vb[2] - r.width * s) / 2, oy = vb[1] + (vb[3] - r.height * s) / 2;
      return [ox + (cx - r.left) * s, oy + (cy - r.top) * s, s];
    }
    function zoom(f, cx, cy){
      var r = svg.getBoundingClientRect();
      if (cx === undefined){ cx = r.left + r.width / 2; cy = r.top + r.height / 2; }
      var p = toSvg(cx, cy);
      var w = Math.min(Math.max(vb[2] * f, home[2] / 40), home[2] * 4), k = w / vb[2];
      vb = [p[0] - (p[0] - vb[0]) * k, p[1] - (p[1] - vb[1]) * k, vb[2] * k, vb[3] * k];
      apply();
    }
    svg.addEventListener('wheel', function(e){ e.preventDefault(); zoom(e.deltaY < 0 ? 0.8 : 1.25, e.clientX, e.clientY); }, {passive: false});
    var pts = {}, last = null;
    function mid(){ var k = Object.keys(pts); if (!k.length) return null;
      var x = 0, y = 0; k.forEach(function(i){ x += pts[i][0]; y += pts[i][1]; });
      var d = 0; if (k.length > 1) d = Math.hypot(pts[k[0]][0] - pts[k[1]][0], pts[k[0]][1] - pts[k[1]][1]);
      return [x / k.length, y / k.length, d, k.length]; }
    svg.addEventListener('pointerdown', function(e){ svg.setPointerCapture(e.pointerId); pts[e.pointerId] = [e.clientX, e.clientY]; last = mid(); });
    svg.addEventListener('pointermove', function(e){
      if (!(e.pointerId in pts)) return;
      pts[e.pointerId] = [e.clientX, e.clientY];
      var m = mid();
      if (last && m[3] === last[3]){
        var s = toSvg(0, 0)[2];
        vb[0] -= (m[0] - last[0]) * s; vb[1] -= (m[1] - last[1]) * s; apply();
        if (m[3] > 1 && last[2] > 0 && m[2] > 0) zoom(last[2] / m[2], m[0], m[1]);
      }
      last = m;
    });
    function up(e){ delete pts[e.pointerId]; last = mid(); }
    svg.addEventListener('pointerup', up); svg.addEventListener('pointercancel', up);
    wrap.querySelectorAll('[data-zoom]').forEach(function(b){
      b.addEventListener('click', function(){
        var z = b.getAttribute('data-zoom');
        if (z === 'in') zoom(0.66); else if (z === 'out') zoom(1.5); else { vb = home.slice(); apply(); }
      });
    });
    wrap.querySelectorAll('input[data-toggle]').forEach(function(box){
      function sync(){ svg.querySelectorAll('[data-layer="' + box.getAttribute('data-toggle') + '"]').forEach(function(g){
        g.classList.toggle('off', !box.checked); }); }
      box.addEventListener('change', sync); sync();
    });
  }
  function choosePair(row){
    var wrap = document.getElementById('map'); if (!wrap) return;
    var svg = wrap.querySelector('svg.map-svg');
    var pair = row.getAttribute('data-pair'), ab = pair.split('|'), rev = ab[1] + '|' + ab[0];
    svg.querySelectorAll('.hl').forEach(function(e){ e.classList.remove('hl'); });
    svg.querySelectorAll('.desire').forEach(function(e){ e.remove(); });
    document.querySelectorAll('tr.chosen').forEach(function(r){ r.classList.remove('chosen'); });
    row.classList.add('chosen');
    var routes = svg.querySelectorAll('[data-pair="' + pair + '"],[data-pair="' + rev + '"]');
    routes.forEach(function(e){ e.classList.add('hl'); e.closest('g').classList.remove('off'); });
    var ends = ab.map(function(id){ return svg.querySelector('circle[data-firm="' + id + '"]'); });
    ends.forEach(function(c){ if (c) c.classList.add('hl'); });
    if (!routes.length && ends[0] && ends[1]){
      var l = document.createElementNS('http://www.w3.org/2000/svg', 'line');
      l.setAttribute('class', 'desire hl');
      l.setAttribute('x1', ends[0].getAttribute('cx')); l.setAttribute('y1', ends[0].getAttribute('cy'));
      l.setAttribute('x2', ends[1].getAttribute('cx')); l.setAttribute('y2', ends[1].getAttribute('cy'));
      svg.appendChild(l);
    }
    svg.classList.add('focus');
    var note = document.getElementById('map-pair-note');
    if (note) note.textContent = row.cells[0].textContent + ' – ' + row.cells[1].textContent + ': ' +
      (routes.length ? 'routes before (dashed) and after (solid) highlighted.' :
       'straight line shown; its routes are not drawn (only the most improved pairs have routes on the plan).');
  }
  document.querySelectorAll('.map-wrap').forEach(setup);
  document.querySelectorAll('tr[data-pair]').forEach(function(row){
    row.setAttribute('tabindex', '0');
    row.addEventListener('click', function(){ choosePair(row); });
    row.addEventListener('keydown', function(e){ if (e.key === 'Enter') choosePair(row); });
  });
})();
(function(){
  // plans and maps are drawn at 2,000+ px and shown fitted to the page: a click (or Enter) shows
  // one at full size in its own sideways-scrolling box, a second click fits it again
  document.querySelectorAll('figure img').forEach(function(img){
    img.tabIndex = 0;
    img.setAttribute('role', 'button');
    img.setAttribute('aria-pressed', 'false');
    img.title = 'Click for full size (click again to fit the page)';
    function toggle(){ var on = img.classList.toggle('full'); img.setAttribute('aria-pressed', on ? 'true' : 'false'); }
    img.addEventListener('click', toggle);
    img.addEventListener('keydown', function(e){ if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } });
  });
})();
