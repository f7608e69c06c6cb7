(function(){
  function key(cell){
    var v = cell.getAttribute('data-sort');
    if (v === null) v = cell.textContent.trim();
    var n = parseFloat(v), g = cell.getAttribute('data-sort-group') || '';
    return (v !== '' && !isNaN(n) && isFinite(v)) ? {g: g, n: true, v: n} : {g: g, n: false, v: v.toLowerCase()};
  }
  function sortBy(table, idx, th){
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function(c){ c.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    rows.sort(function(r1, r2){
      var a = key(r1.cells[idx]), b = key(r2.cells[idx]);
      var c;
      if (a.g !== b.g) c = a.g < b.g ? -1 : 1;  // one unit or currency together (m before staff, GBP before USD)
      else if (a.n && b.n) c = a.v - b.v;
      else if (a.n !== b.n) c = a.n ? -1 : 1;
      else c = a.v < b.v ? -1 : (a.v > b.v ? 1 : 0);
      return asc ? c : -c;
    });
    rows.forEach(function(r){ body.appendChild(r); });
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function(th, idx){
      th.setAttribute('tabindex', '0');
      th.setAttribute('title', 'Sort by ' + th.textContent.trim());
      th.addEventListener('click', function(){ sortBy(table, idx, th); });
      th.addEventListener('keydown', function(e){ if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, idx, th); } });
    });
  });
})();
